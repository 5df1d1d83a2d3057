#!/usr/bin/env node
// Condensa vs llama.cpp decode speed, batch 1, in one run on one machine.
//
// For each pair (a condensa export and the GGUF of the same shape and matching precision) it alternates, round after
// round, between
//   - `condensa bench -m EXPORT --batch 1 --context C --runs R --decode-steps S --threads T` (a child process; its
//     figure is the median of R timed runs of S decode steps after 2 warm-up steps, on a synthetic C-token context), and
//   - llama.cpp through node-llama-cpp's prebuilt CPU binary, in this process: the model stays loaded, a C-token prompt
//     of random token ids is evaluated once (batch 512), then after 2 warm-up steps R timed runs of S decode steps, each
//     run starting again at position C (the KV past C is erased between runs); each step evaluates one token and
//     samples the next greedily (temperature 0: llama.cpp's greedy sampler, no grammar, no repeat penalty). Median of R.
// The order flips every round (condensa first, then llama.cpp first, ...), so a noisy neighbour and drift hit both
// alike. The table reports the median of the per-round medians and the ratio condensa / llama.cpp.
//
//   node bench-peer.mjs --pair LABEL:EXPORT_DIR:MODEL.gguf [--pair ...] [--rounds 3] [--threads 2] [--context 512]
//        [--runs 5] [--decode-steps 8] [--condensa "dotnet .../condensa.dll"] [--peer-dir /tmp/llamapeer] [--json out.json]
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {pathToFileURL} from "node:url";

function parseArgs(argv) {
    const a = {pairs: [], rounds: 3, threads: 2, context: 512, runs: 5, steps: 8, shape: "tinyllama-1.1b",
        condensa: process.env.CONDENSA ?? "condensa", peerDir: process.env.LLAMA_PEER_DIR ?? "/tmp/llamapeer", json: null,
        flashAttention: "auto"};
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i], v = argv[++i];
        if (v === undefined) throw new Error(`${k} needs a value`);
        switch (k) {
            case "--pair": {
                const [label, exportDir, gguf] = v.split(":");
                if (!gguf) throw new Error("--pair LABEL:EXPORT_DIR:MODEL.gguf");
                a.pairs.push({label, exportDir, gguf});
                break;
            }
            case "--rounds": a.rounds = Number(v); break;
            case "--threads": a.threads = Number(v); break;
            case "--context": a.context = Number(v); break;
            case "--runs": a.runs = Number(v); break;
            case "--decode-steps": a.steps = Number(v); break;
            case "--shape": a.shape = v; break;
            case "--condensa": a.condensa = v; break;
            case "--peer-dir": a.peerDir = v; break;
            case "--json": a.json = v; break;
            case "--flash-attention": a.flashAttention = v === "auto" ? "auto" : v === "true"; break;
            default: throw new Error(`unknown argument ${k}`);
        }
    }
    if (a.pairs.length === 0) throw new Error("give at least one --pair LABEL:EXPORT_DIR:MODEL.gguf");
    return a;
}

const WARMUP = 2; // as condensa bench's DecodeWarmup

const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(", ");

// Seeded token ids (splitmix32), avoiding the control and byte tokens below 259.
function randomTokens(n, vocab, seed) {
    let z = seed >>> 0;
    const out = [];
    for (let i = 0; i < n; i++) {
        z = (z + 0x9e3779b9) >>> 0;
        let t = z;
        t = Math.imul(t ^ (t >>> 16), 0x85ebca6b) >>> 0;
        t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35) >>> 0;
        t = (t ^ (t >>> 16)) >>> 0;
        out.push(259 + (t % (vocab - 259)));
    }
    return out;
}

function condensaBench(args, exportDir, jsonPath) {
    const [exe, ...pre] = args.condensa.split(" ").filter(Boolean);
    const cmd = [...pre, "bench", "-m", exportDir, "--batch", "1", "--context", String(args.context), "--runs", String(args.runs),
        "--decode-steps", String(args.steps), "--prefill-tokens", "64", "--threads", String(args.threads), "--json", jsonPath];
    const r = spawnSync(exe, cmd, {encoding: "utf8", stdio: ["ignore", "pipe", "pipe"]});
    if (r.status !== 0) throw new Error(`condensa bench failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const rows = JSON.parse(fs.readFileSync(jsonPath, "utf8")).rows;
    return {tokPerSec: rows[0].decode_tokens_per_second, command: [exe, ...cmd].join(" ")};
}

async function llamaDecode(seq, args, prompt) {
    const greedy = {generateNext: {token: true, options: {temperature: 0}}};
    const step = async (token) => (await seq.controlledEvaluate([[token, greedy]]))[0].next.token;
    const rewind = async () => {
        if (seq.nextTokenIndex > args.context)
            await seq.eraseContextTokenRanges([{start: args.context, end: seq.nextTokenIndex}]);
        if (seq.nextTokenIndex !== args.context) throw new Error(`sequence at ${seq.nextTokenIndex}, expected ${args.context}`);
    };
    let token = prompt[prompt.length - 1];
    await rewind();
    for (let i = 0; i < WARMUP; i++) token = await step(token);
    const rates = [];
    for (let run = 0; run < args.runs; run++) {
        await rewind();
        const start = process.hrtime.bigint();
        for (let s = 0; s < args.steps; s++) token = await step(token);
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        rates.push(args.steps / seconds);
    }
    return median(rates);
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const peerPkg = path.join(args.peerDir, "node_modules", "node-llama-cpp");
    const {getLlama} = await import(pathToFileURL(path.join(peerPkg, "dist", "index.js")).href);
    const peerVersion = JSON.parse(fs.readFileSync(path.join(peerPkg, "package.json"), "utf8")).version;

    const loadBefore = loadavg();
    let cpuBackend = null;
    // Debug logging only while the backend and the models load (to see which CPU variant ggml picked), warnings after.
    const llama = await getLlama({gpu: false, build: "never", skipDownload: true, usePrebuiltBinaries: true, progressLogs: false,
        maxThreads: args.threads, logLevel: "debug",
        logger: (level, message) => {
            const m = /loaded CPU backend from (\S+)/.exec(message);
            if (m) cpuBackend = path.basename(m[1]);
            if (level === "error" || level === "warn") process.stderr.write(`[llama.cpp ${level}] ${message}\n`);
        }});
    llama.logLevel = "warn";
    const info = {nodeLlamaCpp: peerVersion, buildType: llama.buildType, llamaCppRelease: llama.llamaCppRelease, gpu: llama.gpu,
        cpuBackend, systemInfo: llama.systemInfo.trim(), cpu: os.cpus()[0]?.model, cores: os.cpus().length};
    console.error(`node-llama-cpp ${peerVersion} (${info.buildType}, llama.cpp ${info.llamaCppRelease.repo} ${info.llamaCppRelease.release}), ` +
        `CPU backend ${cpuBackend}, gpu ${info.gpu}; ${info.cpu}, ${info.cores} cores; load average before ${loadBefore}`);

    const results = [];
    for (const pair of args.pairs) {
        const model = await llama.loadModel({modelPath: pair.gguf, gpuLayers: 0});
        const context = await model.createContext({contextSize: args.context + 256, batchSize: 512, sequences: 1,
            threads: {ideal: args.threads, min: args.threads}, flashAttention: args.flashAttention});
        const seq = context.getSequence();
        const prompt = randomTokens(args.context, model.fileInfo.metadata.llama?.vocab_size ?? 32000, args.context);
        const t0 = process.hrtime.bigint();
        await seq.evaluateWithoutGeneratingNewTokens(prompt);
        const promptSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const fileType = model.fileInfo.metadata.general.file_type;
        console.error(`${pair.label}: ${pair.gguf} loaded (file_type ${fileType}, ${model.size.toLocaleString("en-US")} bytes); ` +
            `context ${context.contextSize}, batch ${context.batchSize}, threads ${context.currentThreads}, flash attention ${context.flashAttention}; ` +
            `${args.context}-token prompt in ${promptSeconds.toFixed(2)} s (${(args.context / promptSeconds).toFixed(1)} tok/s, includes first-call setup)`);
        const rounds = [];
        let command = null;
        const jsonPath = path.join(os.tmpdir(), `bench-peer-${process.pid}.json`);
        for (let r = 0; r < args.rounds; r++) {
            const order = r % 2 === 0 ? ["condensa", "llama"] : ["llama", "condensa"];
            const round = {};
            for (const who of order) {
                if (who === "condensa") {
                    const c = condensaBench(args, pair.exportDir, jsonPath);
                    round.condensa = c.tokPerSec;
                    command = c.command;
                } else round.llama = await llamaDecode(seq, args, prompt);
            }
            round.load = os.loadavg()[0];
            rounds.push(round);
            console.error(`${pair.label} round ${r + 1}/${args.rounds} (${order.join(" then ")}): condensa ${round.condensa.toFixed(1)} tok/s, ` +
                `llama.cpp ${round.llama.toFixed(1)} tok/s, load ${round.load.toFixed(2)}`);
        }
        fs.rmSync(jsonPath, {force: true});
        const condensa = median(rounds.map((r) => r.condensa)), peer = median(rounds.map((r) => r.llama));
        results.push({...pair, fileType, flashAttention: context.flashAttention, threads: context.currentThreads, condensaCommand: command,
            promptSeconds, rounds, condensa, llama: peer, ratio: condensa / peer});
        await context.dispose();
        await model.dispose();
    }
    await llama.dispose();
    const loadAfter = loadavg();

    const lines = [
        `| shape | condensa export | llama.cpp GGUF | condensa tok/s | llama.cpp tok/s | condensa / llama.cpp | per round (condensa / llama.cpp) |`,
        `|---|---|---|---:|---:|---:|---|`,
        ...results.map((r) => `| ${args.shape} | ${r.label} | ${path.basename(r.gguf)} | ${r.condensa.toFixed(1)} | ${r.llama.toFixed(1)} | ` +
            `${r.ratio.toFixed(2)}x | ${r.rounds.map((x) => `${x.condensa.toFixed(1)} / ${x.llama.toFixed(1)}`).join(", ")} |`),
    ];
    console.log(lines.join("\n"));
    console.log(`\nbatch 1, context ${args.context}, ${args.runs} runs x ${args.steps} decode steps (median), ${args.rounds} alternating rounds ` +
        `(median of round medians), ${args.threads} threads; load average (1, 5, 15 min) before ${loadBefore}, after ${loadAfter}`);
    if (args.json)
        fs.writeFileSync(args.json, JSON.stringify({settings: args, info, loadBefore, loadAfter, results}, null, 2));
}

await main();
