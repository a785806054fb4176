/**
 * Packaging checks that need no Docker engine: the Dockerfile is linted
 * (dockerfile-utils, plus the project's rules below) and the compose file is
 * validated against the service's real defaults and commands, so what CI
 * tests is what the containers run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import { loadConfig } from '../serve/config';
import { ROOT } from './helpers/paths';

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
/** Instructions per stage, continuation lines joined. */
function stages(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const l = line.trim();
    if (!l || l.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(l);
    if (from) {
      current = from[2] ?? from[1]!;
      out.set(current, []);
    }
    if (current) out.get(current)!.push(l);
  }
  return out;
}

describe('packaging', () => {
  describe('Dockerfile', () => {
    it('passes the dockerfile-utils linter with no problem', () => {
      const problems = validate(dockerfile);
      assert.deepEqual(
        problems.map((p) => `${p.range.start.line + 1}: ${p.message}`),
        [],
      );
    });

    it('has a serve and a train-gpu target, pinned base images, tidy apt layers', () => {
      const s = stages();
      assert.ok(s.has('serve') && s.has('train-gpu') && s.has('deps'));
      for (const m of dockerfile.matchAll(/^(?:ARG NODE_IMAGE=|FROM\s+)(\S+)/gm)) {
        const image = m[1]!;
        if (image.startsWith('$') || ['deps'].includes(image)) continue;
        assert.match(image, /:[0-9]/, `base image ${image} must be pinned to a version`);
      }
      for (const l of [...s.values()].flat().filter((x) => /apt-get install/.test(x))) {
        assert.match(l, /--no-install-recommends/);
        assert.match(l, /rm -rf \/var\/lib\/apt\/lists/);
      }
    });

    it('serve runs as a non-root user, exposes 8339, checks /health, and runs the Makefile commands', () => {
      const serve = stages().get('serve')!;
      const user = serve.filter((l) => /^USER /.test(l)).pop();
      assert.ok(user && !/root|^USER 0/.test(user), `USER ${user}`);
      assert.ok(serve.includes('EXPOSE 8339'));
      assert.ok(serve.some((l) => /^HEALTHCHECK .*\/health/.test(l)));
      const entry = JSON.parse(serve.find((l) => l.startsWith('ENTRYPOINT'))!.slice('ENTRYPOINT'.length));
      const cmd = JSON.parse(serve.find((l) => l.startsWith('CMD'))!.slice('CMD'.length));
      const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
      assert.match(makefile, /^K49 := node bin\/k49\.js$/m);
      assert.deepEqual([...entry, ...cmd], ['node', 'bin/k49.js', 'serve']);
      // `make serve` and `make worker` run the same command as the container: `$(K49) <target>`.
      assert.match(makefile, /^\$\(SERVE_COMMANDS\): setup\n\t\$\(K49\) \$@$/m);
      const commands = /^SERVE_COMMANDS := (.+)$/m.exec(makefile)![1]!.split(/\s+/);
      for (const c of ['serve', 'worker']) assert.ok(commands.includes(c), `make ${c}`);
    });

    it('train-gpu installs tfjs-node-gpu and runs make train evaluate with data/ and artifacts/ as volumes', () => {
      const gpu = stages().get('train-gpu')!;
      assert.ok(gpu[0]!.includes('nvidia/cuda:11.2'));
      assert.ok(gpu.some((l) => l.includes('@tensorflow/tfjs-node-gpu@4.22.0')));
      assert.ok(gpu.some((l) => /VOLUME .*\/app\/data.*\/app\/artifacts/.test(l)));
      assert.ok(gpu.includes('ENTRYPOINT ["make"]') && gpu.includes('CMD ["train", "evaluate"]'));
    });
  });

  describe('compose file', () => {
    type Service = {
      command?: string[];
      ports?: string[];
      environment?: Record<string, string>;
      volumes?: string[];
      profiles?: string[];
      image?: string;
      build?: { target: string };
      deploy?: unknown;
      depends_on?: Record<string, { condition: string; required?: boolean }>;
      healthcheck?: { test: string[] };
    };
    const composeText = readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8');
    /** The file as compose reads it, with ${VAR:-default} interpolated from `env`. */
    const composeWith = (env: Record<string, string>) =>
      parse(
        composeText.replace(/\$\{(\w+):-([^}]*)\}/g, (_, name: string, dflt: string) => env[name] ?? dflt),
        { merge: true },
      ) as {
        services: Record<string, Service>;
        volumes: Record<string, unknown>;
      };
    const compose = composeWith({});
    const { server, worker, nginx } = compose.services;
    /** deploy/redis.env, the switch to the Redis queue. */
    const redisEnv = Object.fromEntries(
      readFileSync(path.join(ROOT, 'deploy', 'redis.env'), 'utf8')
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;

    it('defines server, scalable worker, redis, nginx and train-gpu services', () => {
      assert.deepEqual(Object.keys(compose.services).sort(), ['nginx', 'redis', 'server', 'train-gpu', 'worker']);
      assert.deepEqual(server!.ports, ['8339:8339']);
      assert.equal(worker!.ports, undefined, 'workers publish no port, so --scale worker=N works');
      assert.deepEqual(server!.command, ['serve']);
      assert.deepEqual(worker!.command, ['worker']);
      assert.deepEqual(nginx!.profiles, ['nginx']);
      assert.match(JSON.stringify(compose.services['train-gpu']!.deploy), /"capabilities":\["gpu"\]/);
    });

    it('server and workers share the SQLite queue volume named by QUEUE_URL', () => {
      for (const s of [server!, worker!]) {
        const url = s.environment!.QUEUE_URL!;
        assert.match(url, /^sqlite:\/data\/queue\//);
        assert.ok(s.volumes!.includes('queue:/data/queue'));
      }
      assert.ok('queue' in compose.volumes);
    });

    it('the redis profile adds a persistent Redis, and deploy/redis.env switches QUEUE_URL to it', () => {
      const redis = compose.services.redis!;
      assert.deepEqual(redis.profiles, ['redis']);
      assert.equal(redisEnv.COMPOSE_PROFILES, 'redis');
      const cmd = redis.command!.join(' ');
      assert.match(cmd, /--appendonly yes/, 'the queue must survive a Redis restart');
      assert.match(cmd, /--maxmemory-policy noeviction/, 'an evicted key would be a lost image');
      assert.ok(redis.volumes!.some((v) => v.endsWith(':/data')) && 'redis' in compose.volumes);
      assert.match(redis.healthcheck!.test.join(' '), /redis-cli ping/);
      const switched = composeWith(redisEnv).services;
      const url = new URL(switched.server!.environment!.QUEUE_URL!);
      assert.equal(url.protocol, 'redis:');
      assert.equal(url.hostname, 'redis', 'QUEUE_URL names the compose redis service');
      assert.equal(switched.worker!.environment!.QUEUE_URL, switched.server!.environment!.QUEUE_URL);
      for (const s of [server!, worker!]) assert.deepEqual(s.depends_on!.redis, { condition: 'service_healthy', required: false });
    });

    it('states the same limits as the service defaults, and nginx allows the same upload size', () => {
      const defaults = loadConfig();
      const env = server!.environment!;
      assert.equal(Number(env.MAX_FILE_BYTES), defaults.maxFileBytes);
      assert.equal(Number(env.MAX_BATCH_FILES), defaults.maxBatchFiles);
      assert.equal(Number(env.MAX_REQUEST_BYTES), defaults.maxRequestBytes);
      assert.equal(Number(env.MAX_PIXELS), defaults.maxPixels);
      assert.equal(Number(env.TASK_TTL), defaults.taskTtlSeconds);
      const nginxConf = readFileSync(path.join(ROOT, 'deploy', 'nginx.conf'), 'utf8');
      const mb = Number(/client_max_body_size (\d+)m;/.exec(nginxConf)![1]);
      assert.equal(mb * 1024 * 1024, defaults.maxRequestBytes);
      assert.match(nginxConf, /proxy_pass http:\/\/server:8339;/);
    });
  });
});
