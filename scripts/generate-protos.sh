#!/usr/bin/env bash
# Regenerates Shared/ExchangeProtocol/Generated from the .proto contract.
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift matching swift-protobuf in Package.swift.
# PROTOC_GEN_SWIFT may point at the plugin; otherwise it is built once from the resolved
# swift-protobuf checkout into .build-protoc (slow the first time, ~2-10 minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
plugin=${PROTOC_GEN_SWIFT:-}
if [ -z "$plugin" ]; then
  if command -v protoc-gen-swift >/dev/null 2>&1; then
    plugin=$(command -v protoc-gen-swift)
  else
    swift package resolve >/dev/null
    src=.build/checkouts/swift-protobuf
    swift build -c release --package-path "$src" --scratch-path "$root/.build-protoc" --product protoc-gen-swift
    plugin="$root/.build-protoc/release/protoc-gen-swift"
  fi
fi
protos=Shared/ExchangeProtocol/Protos
out=Shared/ExchangeProtocol/Generated
# FastProto.swift (the direct codec's runtime) is hand-written and stays.
mkdir -p "$out" && rm -f "$out"/*.pb.swift "$out"/exchange_v1_fastcodec.swift
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  -I "$protos" --swift_out="$out" $(cd "$protos" && find . -name '*.proto' | sort | sed 's|^\./||')
python3 scripts/generate-fastcodec.py
echo "generated into $out:"; ls "$out"
