# pbx/sdp, pbx/media, pbx/journal: sox checks the recorder's WAV files and
# the G.711 decoder against an independent implementation.
DEB_PACKAGES += sox
