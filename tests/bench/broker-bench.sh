#!/bin/sh
# `npm run bench:broker`: both broker benchmarks (see docs/benchmarks.md, section "Broker").
set -e
cd "$(dirname "$0")/../.."
npx tsx --conditions=react-server tests/bench/broker-snapshot-bench.ts
npx tsx --conditions=react-server tests/bench/broker-provisioning-bench.ts
