import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

/**
 * The Dockerfile, read (no image is built here): what each stage copies exists, the build
 * stage sees every input of `npm run build`, and the runtime stage's code and production
 * dependencies are all the compiled entry points load.
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(REPO, path), 'utf8');

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: readonly { readonly op: string; readonly args: string }[];
}

/** Stages and their instructions; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const stages: { from: string; name: string | undefined; instructions: { op: string; args: string }[] }[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const [image = '', as, name] = rest;
      stages.push({ from: image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** COPY sources from the build context (not --from another stage). */
function contextCopies(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
}

/** What .dockerignore lets into the build context: it excludes everything, then names what comes back. */
function contextAllows(path: string): boolean {
  const rules = read('.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  assert.equal(rules[0], '*', '.dockerignore starts by excluding everything');
  return rules.slice(1).some((rule) => rule.startsWith('!') && (path === rule.slice(1) || path.startsWith(`${rule.slice(1)}/`)));
}

/** Every module a compiled file loads, statically or by a literal dynamic import, and worker files by URL. */
function specifiers(source: string): string[] {
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s*['"]([^'"]+)['"]/gm, /new URL\(\s*['"](\.{1,2}\/[^'"]+\.js)['"]/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
}

const packageName = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('the Dockerfile', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const build = stages[0]!;
  const runtime = stages.at(-1)!;
  const runs = (stage: Stage): string => stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');

  test('two stages on Debian-slim Node 20: a build stage running prepare, a runtime with production dependencies only', () => {
    assert.equal(stages.length, 2);
    for (const stage of stages) assert.match(stage.from, /^node:20(\.[\d.]+)?-bookworm-slim$/);
    assert.equal(build.name, 'build');
    assert.match(runs(build), /\bnpm ci\b/);
    assert.match(runs(build), /\bnpm run prepare\b/);
    assert.match(runs(runtime), /\bnpm ci --omit=dev --ignore-scripts\b/);
  });

  test('the runtime carries nsenter, runs as node, and its entrypoint is the CLI', () => {
    assert.match(runs(runtime), /apt-get install [^\n]*\butil-linux\b/);
    assert.match(runs(runtime), /command -v nsenter/);
    assert.deepEqual(runtime.instructions.filter((i) => i.op === 'USER').map((i) => i.args), ['node']);
    const entrypoint = runtime.instructions.find((i) => i.op === 'ENTRYPOINT')?.args;
    assert.deepEqual(JSON.parse(entrypoint ?? 'null'), ['node', '/app/bin/kube-netstat.js']);
    assert.match(read('bin/kube-netstat.js'), /import '\.\.\/dist\/cli\/bin\.js'/);
  });

  test('everything copied from the build context exists and passes .dockerignore', () => {
    for (const source of [...contextCopies(build), ...contextCopies(runtime)]) {
      assert.ok(existsSync(join(REPO, source)), `${source} exists`);
      assert.ok(contextAllows(source.replace(/\/$/, '')), `.dockerignore lets ${source} through`);
    }
  });

  test('the build stage has every input of npm run generate and npm run build', () => {
    const copied = new Set(contextCopies(build));
    const config = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    for (const entry of ['package.json', 'package-lock.json', 'buf.gen.yaml', 'buf.yaml', 'tsconfig.json', 'tsconfig.build.json', 'proto', ...config.include]) {
      const top = entry.split('/')[0]!;
      // gen/ is generated in the stage itself.
      if (top === 'gen') continue;
      assert.ok(copied.has(top), `the build stage copies ${top} (for ${entry})`);
    }
  });

  test('the runtime stage copies compiled directories that npm run build makes', () => {
    const fromBuild = runtime.instructions.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build'));
    assert.ok(fromBuild.length > 0);
    for (const instruction of fromBuild) {
      const [, source = '', target = ''] = instruction.args.split(/\s+/);
      assert.match(source, /^\/app\/dist\//);
      assert.equal(target.replace(/^\.\//, ''), source.slice('/app/'.length));
      assert.ok(existsSync(join(REPO, source.slice('/app/'.length))), `${source} exists after npm run build`);
    }
  });

  test('what the entry points load is in the image: copied dist/ directories, Node built-ins and production dependencies', () => {
    const copied = runtime.instructions.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build')).map((i) => i.args.split(/\s+/)[1]!.slice('/app/'.length));
    const { dependencies } = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const seen = new Set<string>();
    const pending = ['bin/kube-netstat.js', 'bin/kubectl-netstat.js', 'bin/kubectl_complete-netstat.js'].map((file) => join(REPO, file));
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const path = relative(REPO, file);
      assert.ok(path.startsWith('bin/') || copied.some((dir) => path.startsWith(`${dir}/`)), `${path} is loaded but not copied into the image`);
      for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          assert.ok(existsSync(target), `${path} loads ${specifier}, which does not exist`);
          pending.push(target);
        } else if (!specifier.startsWith('node:') && !builtins.has(specifier)) {
          assert.ok(Object.hasOwn(dependencies, packageName(specifier)), `${path} loads ${specifier}: not a production dependency, so npm ci --omit=dev leaves it out`);
        }
      }
    }
    assert.ok(seen.size > 50, `walked ${seen.size} files`);
  });
});
