// Snappy, LZ4 and ZSTD codecs for kafkajs, built from pure-JS / WebAssembly npm packages.
//
// kafkajs ships gzip only. The codec plugins the kafkajs project points to do not install
// on Node 20 without a native build (kafkajs-lz4 needs `lz4`, a node-gyp addon;
// @kafkajs/zstd needs `cppzst`, whose C++ no longer compiles against Node 20), so LZ4 and
// ZSTD are wired here from lz4js (pure JS, LZ4 frame format, as Kafka uses since magic 1)
// and @bokuweb/zstd-wasm (zstd compiled to WebAssembly). Snappy is the kafkajs-snappy
// plugin (pure JS, snappyjs; reads both raw and xerial-framed snappy).
'use strict'

const { CompressionTypes, CompressionCodecs } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const lz4 = require('lz4js')
const zstd = require('@bokuweb/zstd-wasm')

const LZ4Codec = () => ({
  async compress(encoder) {
    return Buffer.from(lz4.compress(encoder.buffer))
  },
  async decompress(buffer) {
    return Buffer.from(lz4.decompress(buffer))
  },
})

let zstdReady = null
const ZSTDCodec = () => ({
  async compress(encoder) {
    await (zstdReady = zstdReady || zstd.init())
    return Buffer.from(zstd.compress(encoder.buffer, 3))
  },
  async decompress(buffer) {
    await (zstdReady = zstdReady || zstd.init())
    // The simple API sizes its output from the frame's content size; 16 MiB bounds the rest.
    return Buffer.from(zstd.decompress(buffer, { defaultHeapSize: 16 << 20 }))
  },
})

function registerCodecs() {
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
  CompressionCodecs[CompressionTypes.LZ4] = LZ4Codec
  CompressionCodecs[CompressionTypes.ZSTD] = ZSTDCodec
}

module.exports = { registerCodecs }
