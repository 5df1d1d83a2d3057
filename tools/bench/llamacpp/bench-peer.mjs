#!/usr/bin/env node
// Condensa vs llama.cpp decode speed, batch 1, in one run on one machine.
//
// For each pair (a condensa export and the GGUF of the same shape and matching precision) it alternates, round after
// round, between up to three measurements of the same thing (decode steps of one token after a C-token context):
//   condensa   `condensa bench -m EXPORT --batch 1 --context C --runs R --decode-steps S --threads T` (child process):
//              median of R timed runs of S steps after 2 warm-up steps, on a synthetic C-token context.
//   llama-bench  llama.cpp's own benchmark (built by build-llama-bench.sh against node-llama-cpp's prebuilt
//              libraries; child process): `llama-bench -m GGUF -p 0 -n S -d C -t T -r R -ngl 0 -o jsonl`: a C-token
//              prompt evaluated once (then restored from a state copy), R timed runs of S steps of llama_decode
//              of one random token each; the median of its R samples.
//   node       llama.cpp through node-llama-cpp in this process (model loaded once): a C-token prompt of random
//              token ids evaluated once, 2 warm-up steps, then R timed runs of S steps, each run starting again at
//              position C (the KV after it is erased); a step is one controlledEvaluate of one token with greedy
//              sampling (temperature 0: no grammar, no repeat penalty, no token predictor). Median of R.
// The order rotates every round, so a noisy neighbour and drift hit all alike. Each figure records the share of
// the cores other processes used while it ran; with --retries N a figure during which that was 5 % or more is
// measured again (every attempt is kept in --json). The table gives, per side, the median of the round figures
// and the best round, and condensa's ratio to each llama.cpp figure.
//
//   node bench-peer.mjs --pair LABEL:EXPORT_DIR:MODEL.gguf [--pair ...] [--rounds 5] [--threads 2] [--context 512]
//        [--runs 5] [--decode-steps 8] [--condensa "dotnet .../condensa.dll"] [--peer-dir /tmp/llamapeer]
//        [--llama-bench PEER_DIR/llama-bench/llama-bench] [--sides condensa,llama-bench,node] [--json out.json]
//        [--wait-quiet SECONDS] [--retries N] [--flash-attention auto|true|false] [--membw PATH/TO/membw]
//
// With --membw (membw.c, compiled), every round starts with a read-bandwidth check (1 GiB, 2 threads, best of 5):
// this VM's memory bandwidth moves with the host's other tenants (38-77 GB/s seen), which /proc/stat cannot show.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {pathToFileURL} from "node:url";

const SIDES = ["condensa", "llama-bench", "node"];
const NAMES = {"condensa": "condensa", "llama-bench": "llama.cpp (llama-bench)", "node": "llama.cpp (node-llama-cpp)"};

function parseArgs(argv) {
    const a = {pairs: [], rounds: 5, threads: 2, context: 512, runs: 5, steps: 8, shape: "tinyllama-1.1b",
        condensa: process.env.CONDENSA ?? "condensa", peerDir: process.env.LLAMA_PEER_DIR ?? "/tmp/llamapeer", llamaBench: null,
        sides: SIDES, json: null, flashAttention: "auto", waitQuiet: 0, retries: 0, membw: null};
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
            case "--llama-bench": a.llamaBench = v; break;
            case "--sides": a.sides = v.split(",").map((s) => s.trim()); break;
            case "--json": a.json = v; break;
            case "--wait-quiet": a.waitQuiet = Number(v); break;
            case "--retries": a.retries = Number(v); break;
            case "--membw": a.membw = v; break;
            case "--flash-attention": a.flashAttention = v === "auto" ? "auto" : v === "true"; break;
            default: throw new Error(`unknown argument ${k}`);
        }
    }
    if (a.pairs.length === 0) throw new Error("give at least one --pair LABEL:EXPORT_DIR:MODEL.gguf");
    for (const s of a.sides) if (!SIDES.includes(s)) throw new Error(`--sides: ${s} is not one of ${SIDES.join(", ")}`);
    a.llamaBench ??= path.join(a.peerDir, "llama-bench", "llama-bench");
    return a;
}

const WARMUP = 2; // as condensa bench's DecodeWarmup
const QUIET = 0.05; // other processes' share of the cores below which a figure counts as measured on a quiet machine

const pct = (x) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)} %` : "-");
const fmt = (x) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const median = (xs) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(", ");

// CPU time of everything else: the machine's busy jiffies (/proc/stat) minus this process's and its waited-for
// children's (/proc/self/stat utime, stime, cutime, cstime). Reported as a share of all cores over an interval, it
// says whether a measurement ran on a quiet machine (the load average lags by minutes). It cannot see the host's
// other tenants, whose memory traffic moves this VM's bandwidth (README).
function cpuSnapshot() {
    const [, ...f] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
    const self = fs.readFileSync("/proc/self/stat", "utf8");
    const g = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number); // g[0] is field 3 (state)
    return {busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal,
        own: g[11] + g[12] + g[13] + g[14]};
}
const othersShare = (a, b) => (b.total > a.total ? Math.max(0, (b.busy - a.busy) - (b.own - a.own)) / (b.total - a.total) : 0);

// With --wait-quiet S: before each figure, wait (up to S seconds) until other processes use under 5 % of the cores
// over 3 s. Every figure is still reported; this only picks when it starts.
async function waitForQuiet(seconds) {
    const until = Date.now() + seconds * 1000;
    for (;;) {
        const a = cpuSnapshot();
        await new Promise((r) => setTimeout(r, 3000));
        const share = othersShare(a, cpuSnapshot());
        if (share < QUIET) return;
        if (Date.now() > until) { console.error(`still busy (others ${pct(share)}) after ${seconds} s; measuring anyway`); return; }
    }
}

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

function run(exe, argv, options = {}) {
    const r = spawnSync(exe, argv, {encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20, ...options});
    if (r.status !== 0) throw new Error(`${exe} ${argv.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

function condensaBench(args, pair, jsonPath) {
    const [exe, ...pre] = args.condensa.split(" ").filter(Boolean);
    const argv = [...pre, "bench", "-m", pair.exportDir, "--batch", "1", "--context", String(args.context), "--runs", String(args.runs),
        "--decode-steps", String(args.steps), "--prefill-tokens", "64", "--threads", String(args.threads), "--json", jsonPath];
    run(exe, argv);
    const rows = JSON.parse(fs.readFileSync(jsonPath, "utf8")).rows;
    return {tokPerSec: rows[0].decode_tokens_per_second, command: [exe, ...argv].join(" ")};
}

function llamaBench(args, pair, binsDir) {
    const argv = ["-m", pair.gguf, "-p", "0", "-n", String(args.steps), "-d", String(args.context), "-t", String(args.threads),
        "-r", String(args.runs), "-ngl", "0", "-fa", args.flashAttention === "auto" ? "auto" : args.flashAttention ? "on" : "off",
        "-o", "jsonl"];
    // ggml looks for its CPU backend variants (libggml-cpu-*.so) in the working directory.
    const out = run(args.llamaBench, argv, {cwd: binsDir});
    const row = out.trim().split("\n").map((l) => JSON.parse(l)).find((r) => r.n_gen === args.steps);
    return {tokPerSec: median(row.samples_ts), samples: row.samples_ts, command: [args.llamaBench, ...argv].join(" "),
        build: `${row.build_commit} (${row.build_number})`, cpuInfo: row.cpu_info, type: row.model_type};
}

async function nodeDecode(seq, args, prompt) {
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
    for (let r = 0; r < args.runs; r++) {
        await rewind();
        const start = process.hrtime.bigint();
        for (let s = 0; s < args.steps; s++) token = await step(token);
        rates.push(args.steps / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    return {tokPerSec: median(rates), samples: rates};
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const peerPkg = path.join(args.peerDir, "node_modules", "node-llama-cpp");
    const binsDir = path.join(args.peerDir, "node_modules", "@node-llama-cpp", "linux-x64", "bins", "linux-x64");
    const {getLlama} = await import(pathToFileURL(path.join(peerPkg, "dist", "index.js")).href);
    const peerVersion = JSON.parse(fs.readFileSync(path.join(peerPkg, "package.json"), "utf8")).version;

    const loadBefore = loadavg();
    let cpuBackend = null;
    // Debug logging only while the backend loads (to see which CPU variant ggml picked), warnings after.
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
    const jsonPath = path.join(os.tmpdir(), `bench-peer-${process.pid}.json`);
    for (const pair of args.pairs) {
        let model = null, context = null, seq = null, prompt = null;
        if (args.sides.includes("node")) {
            model = await llama.loadModel({modelPath: pair.gguf, gpuLayers: 0});
            context = await model.createContext({contextSize: args.context + 256, batchSize: 512, sequences: 1,
                threads: {ideal: args.threads, min: args.threads}, flashAttention: args.flashAttention});
            seq = context.getSequence();
            prompt = randomTokens(args.context, model.fileInfo.metadata.llama?.vocab_size ?? 32000, args.context);
            const t0 = process.hrtime.bigint();
            await seq.evaluateWithoutGeneratingNewTokens(prompt);
            const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
            console.error(`${pair.label}: ${pair.gguf} loaded in node-llama-cpp (file_type ${model.fileInfo.metadata.general.file_type}); ` +
                `context ${context.contextSize}, batch ${context.batchSize}, threads ${context.currentThreads}, flash attention ${context.flashAttention}; ` +
                `${args.context}-token prompt in ${seconds.toFixed(2)} s`);
        }
        const rounds = [];
        const commands = {};
        let llamaBenchInfo = null;
        for (let r = 0; r < args.rounds; r++) {
            const order = args.sides.map((_, i) => args.sides[(i + r) % args.sides.length]);
            const round = {order};
            if (args.membw) {
                const out = run(args.membw, ["1024", String(args.threads)]);
                round.readGBs = Math.max(...[...out.matchAll(/([\d.]+) GB\/s/g)].map((m) => Number(m[1])));
            }
            for (const side of order) {
                const attempts = [];
                for (let attempt = 0; attempt <= args.retries; attempt++) {
                    if (args.waitQuiet > 0) await waitForQuiet(args.waitQuiet);
                    const before = cpuSnapshot();
                    let m;
                    if (side === "condensa") m = condensaBench(args, pair, jsonPath);
                    else if (side === "llama-bench") m = llamaBench(args, pair, binsDir);
                    else m = await nodeDecode(seq, args, prompt);
                    if (m.command) commands[side] = m.command;
                    if (side === "llama-bench") llamaBenchInfo = {build: m.build, cpuInfo: m.cpuInfo, type: m.type};
                    const others = othersShare(before, cpuSnapshot());
                    attempts.push({tokPerSec: m.tokPerSec, samples: m.samples, others});
                    if (others < QUIET) break;
                    console.error(`${pair.label} round ${r + 1}: ${side} ${fmt(m.tokPerSec)} tok/s with other processes at ${pct(others)}` +
                        (attempt < args.retries ? "; measuring again" : "; keeping it (no retries left)"));
                }
                round[side] = {...attempts[attempts.length - 1], attempts};
            }
            round.load = os.loadavg()[0];
            rounds.push(round);
            console.error(`${pair.label} round ${r + 1}/${args.rounds}: ` +
                order.map((s) => `${s} ${fmt(round[s].tokPerSec)} tok/s (others ${pct(round[s].others)})`).join(", ") +
                `; load ${round.load.toFixed(2)}` + (round.readGBs ? `; read ${fmt(round.readGBs)} GB/s before` : ""));
        }
        const summary = {};
        for (const side of args.sides) {
            const xs = rounds.map((r) => r[side].tokPerSec);
            // condensa / this side within each round (figures taken seconds apart, so host drift largely cancels)
            const ratios = side === "condensa" || !args.sides.includes("condensa") ? null
                : rounds.map((r) => r.condensa.tokPerSec / r[side].tokPerSec);
            summary[side] = {median: median(xs), best: Math.max(...xs), rounds: xs, ratios,
                ratioMedian: ratios ? median(ratios) : null, ratioMin: ratios ? Math.min(...ratios) : null, ratioMax: ratios ? Math.max(...ratios) : null,
                remeasured: rounds.reduce((n, r) => n + r[side].attempts.length - 1, 0),
                worstOthers: Math.max(...rounds.map((r) => r[side].others))};
        }
        results.push({...pair, commands, llamaBench: llamaBenchInfo, flashAttention: context?.flashAttention, rounds, summary});
        await context?.dispose();
        await model?.dispose();
    }
    fs.rmSync(jsonPath, {force: true});
    await llama.dispose();
    const loadAfter = loadavg();

    // One table row per pair and llama.cpp side: condensa's figures beside that side's, and the ratio.
    const peers = args.sides.filter((s) => s !== "condensa");
    const hasCondensa = args.sides.includes("condensa");
    const gbs = (r) => {
        const xs = r.rounds.map((x) => x.readGBs).filter(Number.isFinite);
        return xs.length ? `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}` : "-";
    };
    const lines = [
        `| shape | condensa export | GGUF | llama.cpp via | condensa tok/s | llama.cpp tok/s | condensa / llama.cpp | rounds (condensa / llama.cpp) | read GB/s at round starts | others' CPU, worst | re-measured |`,
        `|---|---|---|---|---:|---:|---:|---|---:|---:|---:|`,
    ];
    for (const r of results) {
        for (const p of peers) {
            const c = hasCondensa ? r.summary.condensa : null, l = r.summary[p];
            const ratio = c ? `**${l.ratioMedian.toFixed(2)}x** (${l.ratioMin.toFixed(2)}–${l.ratioMax.toFixed(2)})` : "-";
            const perRound = r.rounds.map((x) => (c ? `${fmt(x.condensa.tokPerSec)} / ` : "") + fmt(x[p].tokPerSec)).join(", ");
            const worst = Math.max(l.worstOthers, c?.worstOthers ?? 0), again = l.remeasured + (c?.remeasured ?? 0);
            lines.push(`| ${args.shape} | ${r.label} | ${path.basename(r.gguf)} | ${p === "node" ? "node-llama-cpp" : p} | ${c ? fmt(c.median) : "-"} | ` +
                `${fmt(l.median)} | ${ratio} | ${perRound} | ${gbs(r)} | ${pct(worst)} | ${again} |`);
        }
        if (peers.length === 0) {
            const c = r.summary.condensa;
            lines.push(`| ${args.shape} | ${r.label} | - | - | ${fmt(c.median)} | - | - | ${c.rounds.map(fmt).join(", ")} | ${gbs(r)} | ${pct(c.worstOthers)} | ${c.remeasured} |`);
        }
    }
    console.log(lines.join("\n"));
    console.log(`\nbatch 1, context ${args.context}, ${args.runs} runs x ${args.steps} decode steps (median) per figure, ${args.rounds} rounds ` +
        `in rotating order; tok/s = median of the round figures, ratio = median (min–max) of the per-round ratios; ${args.threads} threads; others' CPU = the share of all cores other processes used ` +
        `while a figure ran; load average (1, 5, 15 min) before ${loadBefore}, after ${loadAfter}`);
    if (args.json)
        fs.writeFileSync(args.json, JSON.stringify({settings: args, info, loadBefore, loadAfter, results}, null, 2));
}

await main();
