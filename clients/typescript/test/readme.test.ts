// The TypeScript stream snippet of clients/README.md, run against the server
// at TASKMAN_URL. The snippet is read from the README at test time, so the
// README cannot drift: it is typechecked as strictly as this test, then run
// in a node process of its own, as a user would run it. The test changes it
// only where the README names a placeholder: `lastEventId`, so that the
// stream replays a warning made just before, and the time it reads for.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import createClient from "openapi-fetch";
import ts from "typescript";
import type { components, paths } from "../generated/schema.js";

type Notification = components["schemas"]["Notification"];

const baseUrl = process.env.TASKMAN_URL;
if (baseUrl === undefined || baseUrl === "") {
  throw new Error("TASKMAN_URL is not set (e.g. http://127.0.0.1:8080)");
}
const client = createClient<paths>({ baseUrl });

// This file runs as clients/typescript/generated/build/test/readme.test.js.
const built = path.dirname(fileURLToPath(import.meta.url));
const tsDir = path.resolve(built, "../../..");
const readme = path.resolve(tsDir, "../README.md");

const PAST_EXPIRY = "2000-01-01T00:00:00Z";
const DEADLINE_MS = 60_000;

/** The `nth` ```ts block under `heading`, up to the next heading. */
function snippet(heading: string, nth = 1): string {
  const lines = readFileSync(readme, "utf8").split("\n");
  assert.equal(lines.filter((line) => line === heading).length, 1, `${readme} has no single heading ${heading}`);
  const blocks: string[][] = [];
  let fence: string | undefined; // the language of the block we are in
  for (const line of lines.slice(lines.indexOf(heading) + 1)) {
    if (fence === undefined && line.startsWith("#")) break;
    if (fence === undefined && line.startsWith("```")) {
      fence = line.slice(3);
      if (fence === "ts") blocks.push([]);
    } else if (fence !== undefined && line === "```") {
      fence = undefined;
    } else if (fence === "ts") {
      blocks.at(-1)?.push(line);
    }
  }
  const block = blocks[nth - 1];
  assert.ok(block !== undefined, `no ts block ${nth} under ${heading} in ${readme}`);
  return block.join("\n") + "\n";
}

function replaceOnce(code: string, old: string, replacement: string): string {
  assert.equal(code.split(old).length, 2, `the snippet should contain ${old} once:\n${code}`);
  return code.replace(old, replacement);
}

// What the README's snippet above the stream one defines and the stream one uses.
const SETUP = `import createClient from "openapi-fetch";
import type { components, paths } from "../generated/schema.js";

const client = createClient<paths>({ baseUrl: process.env.TASKMAN_URL ?? "" });
`;

/**
 * Typechecks `code` with the test's own tsconfig, as if it were a file in
 * test/ (so `./sse.js` is test/sse.ts), without writing it there.
 */
function typecheck(code: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(tsDir, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) =>
      assert.fail(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")),
  });
  assert.ok(config !== undefined);
  const file = path.join(tsDir, "test", "readme-stream-snippet.ts");
  const host = ts.createCompilerHost(config.options);
  const { getSourceFile, fileExists } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, code, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram({ rootNames: [file], options: { ...config.options, noEmit: true }, host });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  assert.equal(diagnostics.length, 0, ts.formatDiagnostics(diagnostics, host));
}

/** The stdout of a running snippet, one line at a time, with deadlines. */
class Lines {
  private readonly lines: string[] = [];
  private wake: () => void = () => undefined;
  private ended = false;
  private stderr = "";

  constructor(private readonly child: ChildProcess) {
    assert.ok(child.stdout !== null && child.stderr !== null);
    child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    const reader = createInterface({ input: child.stdout });
    reader.on("line", (line) => {
      this.lines.push(line);
      this.wake();
    });
    reader.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** The first line that starts with `words`; fails when the snippet ends first. */
  async until(words: string[]): Promise<string> {
    const deadline = Date.now() + DEADLINE_MS;
    const what = words.join(" ");
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        if (words.every((word, i) => line.split(" ")[i] === word)) return line;
        continue;
      }
      if (this.ended) assert.fail(`the snippet ended before printing ${what}; its stderr:\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) assert.fail(`the snippet printed no line starting with ${what} within ${DEADLINE_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The exit code, once the process has ended of its own accord within `ms`. */
  exitCode(ms: number): Promise<number | null> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null) return resolve(this.child.exitCode);
      const timer = setTimeout(() => reject(new Error(`the snippet had not ended after ${ms} ms`)), ms);
      this.child.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }

  errors(): string {
    return this.stderr;
  }
}

async function createTask(title: string, expiry_dt: string): Promise<number> {
  const { data, error, response } = await client.POST("/v1/tasks", { body: { title, expiry_dt } });
  if (error !== undefined) assert.fail(`create: ${response.status} ${error.detail}`);
  return data.id;
}

async function waitForWarning(taskId: number): Promise<Notification> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const { data, error } = await client.GET("/v1/notifications", { params: { query: { task_id: taskId } } });
    if (error !== undefined) assert.fail(`notifications: ${error.detail}`);
    const [warning] = data.notifications;
    if (warning !== undefined) return warning;
    if (Date.now() > deadline) assert.fail(`no warning for task ${taskId} within ${DEADLINE_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("the stream snippet prints replayed and live warnings, and stops when its time is up", async (t) => {
  const code = snippet("### The event stream from Node.js (or a browser with a token)");
  typecheck(SETUP + code);

  // A warning in the history before the snippet runs: resuming just before
  // it replays it, so the snippet meets a real event whatever its timing.
  const before = await createTask("snippet: expired before", PAST_EXPIRY);
  const replayed = await waitForWarning(before);
  const readForMs = 6_000;
  let run = replaceOnce(
    code,
    "let lastEventId: string | undefined;",
    `let lastEventId: string | undefined = ${JSON.stringify(String(replayed.id - 1))};`,
  );
  run = replaceOnce(run, "AbortSignal.timeout(60_000)", `AbortSignal.timeout(${readForMs})`);
  // Next to the built sse.js, which the snippet imports as ./sse.js.
  const file = path.join(built, "readme-stream-snippet.js");
  const { outputText } = ts.transpileModule(SETUP + run, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  writeFileSync(file, outputText);

  const started = Date.now();
  const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  const lines = new Lines(child);

  await lines.until(["expired", String(before)]);
  // The stream is open now: a new warning comes live.
  const live = await createTask("snippet: expired live", PAST_EXPIRY);
  await lines.until(["expired", String(live)]);

  const exit = await lines.exitCode(readForMs + 10_000);
  const took = Date.now() - started;
  assert.equal(exit, 0, `the snippet failed; its stderr:\n${lines.errors()}`);
  assert.ok(took >= readForMs && took < readForMs + 3_000, `the snippet read for ${took} ms, not ${readForMs}`);
});
