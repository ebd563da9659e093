#!/bin/bash
# Regenerates the G.711 golden decodings with sox (Debian package sox):
# every one of the 256 codes, decoded by sox to 16-bit little-endian PCM.
set -euo pipefail
cd "$(dirname "$0")"
for i in $(seq 0 255); do printf "\\x$(printf %02x "$i")"; done > g711-codes.bin
sox -t ul -r 8000 -c 1 g711-codes.bin -t raw -e signed -b 16 -L ulaw-sox.s16
sox -t al -r 8000 -c 1 g711-codes.bin -t raw -e signed -b 16 -L alaw-sox.s16
