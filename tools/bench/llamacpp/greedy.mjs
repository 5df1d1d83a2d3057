// Greedy tokens from llama.cpp (node-llama-cpp's prebuilt CPU library) for given prompt token ids: whether a GGUF that
// make_gguf.py --checkpoint wrote decodes as condensa does. llama.cpp's vocabulary in that GGUF is a placeholder, so the
// prompt goes in as ids and the tokens come out as ids; with --expect, the first position where they part is printed.
//
//   node tools/bench/llamacpp/greedy.mjs --gguf FILE --prompt-ids 1,319,... --tokens N [--expect 3,262,...] [--peer-dir /tmp/llamapeer]
import path from "node:path";
import {pathToFileURL} from "node:url";
import {parseArgs} from "node:util";

const {values: args} = parseArgs({options: {gguf: {type: "string"}, "prompt-ids": {type: "string"}, tokens: {type: "string", default: "64"},
    expect: {type: "string"}, "peer-dir": {type: "string", default: "/tmp/llamapeer"}}});
if (!args.gguf || !args["prompt-ids"]) throw new Error("--gguf and --prompt-ids are required");
const ids = text => text.split(",").map(Number);
const index = path.join(args["peer-dir"], "node_modules", "node-llama-cpp", "dist", "index.js");
const {getLlama} = await import(pathToFileURL(index).href);
const llama = await getLlama({gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: "error"});
const model = await llama.loadModel({modelPath: args.gguf, gpuLayers: 0});
const prompt = ids(args["prompt-ids"]), count = Number(args.tokens);
const context = await model.createContext({contextSize: prompt.length + count + 16, sequences: 1});
const out = [];
for await (const token of context.getSequence().evaluate(prompt, {temperature: 0})) {
    out.push(token);
    if (out.length >= count) break;
}
console.log(out.join(","));
if (args.expect) {
    const expected = ids(args.expect).slice(0, count);
    const first = expected.findIndex((t, i) => out[i] !== t);
    console.log(first < 0 ? `the same ${expected.length} tokens` : `parts at token ${first}: ${out[first]} where ${expected[first]} was expected`);
    process.exitCode = first < 0 ? 0 : 1;
}
