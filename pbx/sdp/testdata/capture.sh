#!/bin/bash
# Re-captures the golden SDPs in this folder from the real clients
# (Debian packages sip-tester and baresip-core), over loopback only.
# Run from the repository root: pbx/sdp/testdata/capture.sh
set -euo pipefail
out=pbx/sdp/testdata
cap=$(mktemp -d); trap 'rm -rf "$cap"' EXIT
go build -o "$cap/capture" ./$out/capture

# sipp's built-in UAC offer.
"$cap/capture" -listen 127.0.0.1:5099 > "$out/sipp-uac-offer.sdp" &
sleep 0.3
timeout 10 sipp -sn uac -m 1 -i 127.0.0.1 -p 5098 127.0.0.1:5099 -nostdin >/dev/null 2>&1 || true
wait

# sipp's built-in UAS answer to that offer.
timeout 10 sipp -sn uas -m 1 -i 127.0.0.1 -p 5098 -nostdin >/dev/null 2>&1 &
sleep 0.3
"$cap/capture" -call 127.0.0.1:5098 -sdp "$out/sipp-uac-offer.sdp" > "$out/sipp-uas-answer.sdp"
wait

# baresip's offer with the codecs of a typical build.
mkdir -p "$cap/baresip"
cat > "$cap/baresip/config" <<CFG
sip_listen 127.0.0.1:5097
audio_source aubridge,x
audio_player aubridge,x
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module g722.so
module opus.so
module aubridge.so
module_app account.so
module_app menu.so
CFG
echo '<sip:capture@127.0.0.1>;regint=0;answermode=auto' > "$cap/baresip/accounts"
"$cap/capture" -listen 127.0.0.1:5099 > "$out/baresip-offer.sdp" &
sleep 0.3
timeout 10 baresip -f "$cap/baresip" -e '/dial sip:200@127.0.0.1:5099' -t 3 >/dev/null 2>&1 </dev/null || true
wait

# baresip's answer (auto-answer) to sipp's offer.
timeout 10 baresip -f "$cap/baresip" -t 4 >/dev/null 2>&1 </dev/null &
sleep 1
"$cap/capture" -call 127.0.0.1:5097 -user capture -sdp "$out/sipp-uac-offer.sdp" > "$out/baresip-answer.sdp"
wait
