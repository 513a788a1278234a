#!/bin/sh
# Regenerates plan.json: 24 h of a Walker-delta 6/2/1 constellation (1200 km, 60 deg; nodes
# 20-22 in one plane, 23-25 in the other) with stations 10 and 11, predicted by tern route, and
# the ground network, always up: each station to the console (100), which relays nothing, and
# the stations to each other. Run from the repo root after npm run build.
set -e
D=flight/config/missions/constellation
node dist/gse/tern.js route walker 6/2/1 --alt-km 1200 --inc-deg 60 --epoch 2026-01-01T00:00:00Z --first-norad 20 --out $D/walker.tle
node dist/gse/tern.js route plan --tle $D/walker.tle --stations $D/stations.json --start 2026-01-01T00:00:00Z --hours 24 \
  --max-range-km 9000 --format tern --out $D/plan.json
node -e '
const fs = require("fs");
const file = process.argv[1];
const lines = fs.readFileSync(file, "utf8").split("\n");
const ground = [[10, 100], [11, 100], [10, 11], [11, 10]].map(([from, to]) =>
  `  {"from": ${from}, "to": ${to}, "start": 0, "end": 86400, "rate": 10000000, "owlt": 0.001},`);
const nodes = lines.findIndex((l) => l.startsWith("\"nodes\""));
lines[nodes] = lines[nodes].replace(/\],$/, ",{\"node\":100,\"name\":\"console\"}],");
lines.splice(lines.findIndex((l) => l.startsWith("\"contacts\"")) + 1, 0, ...ground);
fs.writeFileSync(file, lines.join("\n"));
' $D/plan.json
