#!/usr/bin/env bash
# report_html.sh - `rcn report --html` as a reader sees it: the page of
# results/table2-mini.json loaded by headless chromium (Debian's package,
# installed here when missing) shows Table 2's 8 rows, every figure loads,
# and no console message appears; a report not complete says so, shows
# progress and reloads itself; a racing report shows its rungs; the
# journal of a search just started gives a page without figures.
#
#   RCN=bin/rcn TMPDIR_TEST=$(mktemp -d) bash tests/integration/report_html.sh
#   RCN_SCREENSHOT=results/table2-mini.html.png ... also saves the screenshot
set -euo pipefail
RCN=${RCN:-bin/rcn}
T=${TMPDIR_TEST:-$(mktemp -d)}
REPORT=results/table2-mini.json
fail() { echo "FAIL: $*"; exit 1; }

if ! command -v chromium >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "chromium is missing (as root: apt-get install chromium)"
    echo "chromium: installing Debian's chromium (apt-get, --no-install-recommends)"
    t0=$(date +%s)
    export DEBIAN_FRONTEND=noninteractive
    inst() { apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium \
                 >"$T/apt.log" 2>&1; }
    if ! inst; then
        echo "chromium: apt-get update, then installing again"
        apt-get -o DPkg::Lock::Timeout=600 update >>"$T/apt.log" 2>&1 || true
        inst || { tail -20 "$T/apt.log"; fail "cannot install chromium"; }
    fi
    echo "chromium: installed in $(($(date +%s) - t0)) s"
fi

# ---- the committed report, in the browser ----------------------------------
"$RCN" report --html "$T/page" "$REPORT"
[ -s "$T/page/index.html" ] || fail "no index.html"
grep -q 'http-equiv="refresh"' "$T/page/index.html" && fail "a complete report reloads itself"
grep -Eq '(src|href)="(https?:)?//' "$T/page/index.html" && fail "the page loads from the network"

chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$T/profile" --enable-logging=stderr --v=0 --hide-scrollbars \
    --window-size=1280,2600 --virtual-time-budget=3000 --screenshot="$T/page.png" \
    --dump-dom "file://$(cd "$T/page" && pwd)/index.html" >"$T/dom.html" 2>"$T/chromium.log" ||
    { tail -20 "$T/chromium.log"; fail "chromium failed"; }
[ -s "$T/page.png" ] || fail "no screenshot"

# What the reader sees, from the DOM after the scripts ran.
python3 - "$T/dom.html" <<'EOF'
import html.parser, re, sys
dom = open(sys.argv[1]).read()

class Rows(html.parser.HTMLParser):
    """Counts the <tr> in <tbody> of <table id="table2">."""
    def __init__(self):
        super().__init__()
        self.depth, self.body, self.rows, self.cells = 0, False, 0, []
    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", "table2") in attrs:
            self.depth = 1
        elif tag == "table" and self.depth:
            self.depth += 1
        elif self.depth and tag == "tbody":
            self.body = True
        elif self.depth and self.body and tag == "tr":
            self.rows += 1
    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        if tag == "tbody":
            self.body = False

p = Rows()
p.feed(dom)
m = re.search(r'<html[^>]*data-images="(\d+)/(\d+)"', dom)
errors = []
if p.rows != 8:
    errors.append("Table 2 has %d rows, expected 8" % p.rows)
if not m:
    errors.append("the page's image check did not run (no data-images)")
elif m.group(1) != m.group(2) or int(m.group(2)) < 10:
    errors.append("figures loaded: %s of %s" % (m.group(1), m.group(2)))
if 'class="broken"' in dom:
    errors.append("a figure is marked missing")
for want in ("Best cell", "Refit on the whole training set", "55.21%", "Fold spread"):
    if want not in dom:
        errors.append("the page lacks %r" % want)
if errors:
    sys.exit("FAIL: " + "; ".join(errors))
print("page: Table 2 rows %d, figures loaded %s/%s" % (p.rows, m.group(1), m.group(2)))
EOF
if grep -a ':CONSOLE' "$T/chromium.log"; then fail "console messages (above)"; fi
[ -n "${RCN_SCREENSHOT:-}" ] && cp "$T/page.png" "$RCN_SCREENSHOT"

# ---- a racing search, not complete: the committed race's journal cut inside rung 1
head -n 92 results/table2-mini-race.journal.jsonl >"$T/racing.journal.jsonl"
"$RCN" report --html "$T/racing" "$T/racing.journal.jsonl"
page=$T/racing/index.html
grep -q '<meta http-equiv="refresh" content="30">' "$page" || fail "no reload on a running search"
grep -Eq '<progress max="400" value="[0-9]+">' "$page" || fail "no progress"
grep -q 'Not complete: read from the journal' "$page" || fail "does not say it is not complete"
grep -q '<table id="rungs">' "$page" || fail "no rung table"
grep -q 'eliminated' "$page" || fail "the rung's eliminated cells are not shown"
grep -q 'status racing, rung 1' "$page" || fail "the cells' race members are not shown"
# ---- a search that has just started: its journal, no fold yet ---------------------
head -n 1 results/table2-mini.journal.jsonl >"$T/started.journal.jsonl"
"$RCN" report --html "$T/started" "$T/started.json"
page=$T/started/index.html
grep -q 'http-equiv="refresh"' "$page" || fail "no reload on a search just started"
grep -q 'No figures yet' "$page" || fail "does not say there are no figures yet"
grep -q '<progress max="400" value="0">' "$page" || fail "no progress on a search just started"
echo "report_html: OK"
