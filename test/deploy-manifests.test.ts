/**
 * The Kubernetes manifests (deploy/kubernetes): every overlay renders with kustomize (the
 * one built into kubectl; `ops/kubectl.sh` checks it is there), every object it renders
 * is valid against the Kubernetes API schemas (kubernetes-models' generated validators, no
 * network), and the manifests keep the promises deploy/kubernetes/README.md makes about
 * them: non-root read-only containers, probes on /health and /ready, configuration the
 * server knows, a migration Job on the same image, autoscalers and disruption budgets that
 * point at real pods, and grace periods that cover the server's shutdown.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

import { ConfigError, loadConfig } from '../lib/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const K8S = path.join(ROOT, 'deploy', 'kubernetes');
const TARGETS = ['base', ...fs.readdirSync(path.join(K8S, 'overlays')).map((o) => `overlays/${o}`)];

type Obj = Record<string, any>;

function render(target: string): Obj[] {
  const dir = path.join(K8S, target);
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    assert.fail('kubectl (with its built-in kustomize) renders deploy/kubernetes and is not on PATH: run `bash ops/kubectl.sh` to see how to install it');
  }
  assert.equal(r.status, 0, `kubectl kustomize ${target} failed: ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  const objects = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJSON() as Obj | null).filter((o): o is Obj => Boolean(o));
  assert.ok(objects.length > 0, `${target} renders objects`);
  return objects;
}

const rendered = new Map<string, Obj[]>();
function objectsOf(target: string): Obj[] {
  let objs = rendered.get(target);
  if (!objs) rendered.set(target, (objs = render(target)));
  return objs;
}

const ofKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  assert.ok(o, `a ${kind} named ${name} is rendered`);
  return o;
};
/** Every workload's pod template: Deployments and Jobs. */
const podTemplates = (objs: Obj[]) => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Job').map((o) => ({ owner: o, template: o.spec.template as Obj }));
const containersOf = (template: Obj): Obj[] => [...(template.spec.initContainers ?? []), ...template.spec.containers];
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** The variables lib/config.ts reads (its EnvSchema's keys). */
function knownVariables(): Set<string> {
  const src = fs.readFileSync(path.join(ROOT, 'lib', 'config.ts'), 'utf8');
  const start = src.indexOf('const EnvSchema = z.object({');
  const end = src.indexOf('\n});', start);
  assert.ok(start >= 0 && end > start, 'lib/config.ts has its EnvSchema');
  const keys = [...src.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  assert.ok(keys.length > 50, `EnvSchema's keys are found: ${keys.length}`);
  return new Set(keys);
}

/** KEY=value lines of an env file (comments and blank lines skipped). */
function envFile(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `${path.relative(ROOT, file)}: "${line}" is KEY=value`);
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

const SECRET_EXAMPLE = envFile(path.join(K8S, 'secrets.example.env'));

/** The ConfigMap a container takes its settings from (envFrom), as rendered. */
function configMapOf(objs: Obj[], container: Obj): Record<string, string> {
  const refs = (container.envFrom ?? []).filter((e: Obj) => e.configMapRef).map((e: Obj) => e.configMapRef.name as string);
  assert.equal(refs.length, 1, `container ${container.name} takes one ConfigMap: ${refs.join(', ')}`);
  return named(objs, 'ConfigMap', refs[0]!).data as Record<string, string>;
}

/** The shutdown steps a process with these roles registers (each bounded by SHUTDOWN_TIMEOUT_MS). */
function shutdownSteps(roles: string[]): number {
  const files = ['server/app.ts', 'server/roles/shared.ts'];
  if (roles.includes('api') || roles.includes('worker')) files.push('server/roles/search.ts');
  if (roles.includes('api') || roles.includes('sync')) files.push('server/roles/sync.ts');
  if (roles.includes('api')) files.push('server/roles/api.ts');
  if (roles.includes('worker')) files.push('server/roles/worker.ts');
  return files.reduce((n, f) => n + (fs.readFileSync(path.join(ROOT, f), 'utf8').match(/shutdown\.add\(/g)?.length ?? 0), 0);
}

/** Resolves a probe's or Service's port (a number or a container port's name) to a number. */
function portNumber(container: Obj, port: number | string): number {
  if (typeof port === 'number') return port;
  const p = (container.ports ?? []).find((x: Obj) => x.name === port);
  assert.ok(p, `container ${container.name} has a port named ${port}`);
  return p.containerPort as number;
}

test('the image builds from every runtime folder and runs as the manifests expect (user, DATA_DIR, WEB_DIR, PORT, command)', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lines = dockerfile.split('\n').map((l) => l.trim());
  const ignored = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const copied = lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
  const build = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
  for (const need of [...build.include, 'clients', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
    assert.ok(copied.includes(need), `the build stage copies ${need}: ${copied.join(' ')}`);
    assert.ok(!ignored.includes(need), `.dockerignore does not leave out ${need}`);
  }
  assert.ok(/^ARG NODE_IMAGE=node:20[.-]/m.test(dockerfile), 'the image is Node 20 (package.json engines)');
  assert.ok(
    lines.some((l) => /^RUN npm ci\b/.test(l)) && lines.some((l) => l.includes('npm run build') && l.includes('npm prune --omit=dev')),
    'it runs npm ci, npm run build, and keeps only runtime dependencies',
  );
  const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
  assert.ok(user, 'the runtime stage runs as a numeric user and group');
  assert.match(dockerfile, /^CMD \["node", "dist\/server\/main\.js"\]$/m, 'the image runs the built server');
  const env = new Map([...dockerfile.matchAll(/\b([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));

  const objs = objectsOf('base');
  for (const { owner, template } of podTemplates(objs)) {
    const sc = template.spec.securityContext;
    assert.equal(String(sc.runAsUser), user[1], `${owner.metadata.name} runs as the image's user`);
    assert.equal(String(sc.runAsGroup), user[2], `${owner.metadata.name} runs as the image's group`);
    const cm = configMapOf(objs, template.spec.containers[0]);
    for (const k of ['DATA_DIR', 'WEB_DIR', 'PORT']) assert.equal(cm[k], env.get(k), `${owner.metadata.name}: ${k} as the image sets it`);
  }
  assert.ok(dockerfile.includes(`mkdir -p /data && chown ${user[1]}:${user[2]} /data`) && env.get('DATA_DIR') === '/data', 'DATA_DIR exists and belongs to the user');
});

for (const target of TARGETS) {
  test(`${target}: every rendered object is valid against the Kubernetes API schema`, async () => {
    const objs = objectsOf(target);
    for (const o of objs) {
      const where = `${o.kind}/${o.metadata?.name}`;
      let mod: Record<string, any>;
      try {
        mod = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, any>;
      } catch {
        assert.fail(`${where}: no schema for ${o.apiVersion} ${o.kind} (a kind or API version Kubernetes does not have)`);
      }
      const Model = mod[o.kind];
      assert.ok(Model, `${where}: kubernetes-models has the class ${o.kind}`);
      try {
        new Model(o).validate();
      } catch (e) {
        assert.fail(`${where} is not valid: ${(e as Error).message}`);
      }
    }
    const kinds = new Set(objs.map((o) => o.kind));
    for (const k of ['Deployment', 'Service', 'Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Job', 'ConfigMap', 'NetworkPolicy', 'ServiceAccount']) {
      assert.ok(kinds.has(k), `${target} renders a ${k}`);
    }
  });

  test(`${target}: every container runs as non-root on a read-only root filesystem, writing only to DATA_DIR and /tmp`, () => {
    const objs = objectsOf(target);
    for (const { owner, template } of podTemplates(objs)) {
      const pod = template.spec.securityContext ?? {};
      const where = `${owner.kind}/${owner.metadata.name}`;
      assert.equal(pod.runAsNonRoot, true, `${where}: pod runAsNonRoot`);
      assert.ok(Number.isInteger(pod.runAsUser) && pod.runAsUser > 0, `${where}: pod runs as a numeric non-root UID: ${pod.runAsUser}`);
      assert.equal(pod.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`);
      assert.equal(template.spec.automountServiceAccountToken, false, `${where}: no service account token`);
      for (const c of containersOf(template)) {
        const sc = c.securityContext ?? {};
        const at = `${where} container ${c.name}`;
        assert.equal(sc.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
        assert.equal(sc.allowPrivilegeEscalation, false, `${at}: no privilege escalation`);
        assert.notEqual(sc.runAsNonRoot, false, `${at}: does not undo runAsNonRoot`);
        assert.ok(sc.runAsUser === undefined || sc.runAsUser > 0, `${at}: no root UID`);
        assert.ok((sc.capabilities?.drop ?? []).includes('ALL'), `${at}: drops ALL capabilities`);
        assert.deepEqual(sc.capabilities?.add ?? [], [], `${at}: adds no capability`);
        for (const r of ['cpu', 'memory']) {
          assert.ok(c.resources?.requests?.[r], `${at}: requests ${r}`);
          assert.ok(c.resources?.limits?.[r], `${at}: limits ${r}`);
        }
        const dataDir = configMapOf(objs, c).DATA_DIR;
        assert.ok(dataDir?.startsWith('/'), `${at}: DATA_DIR is an absolute path: ${dataDir}`);
        const mounts = new Map<string, string>((c.volumeMounts ?? []).map((m: Obj) => [m.mountPath, m.name]));
        for (const dir of [dataDir!, '/tmp']) {
          const volume = template.spec.volumes?.find((v: Obj) => v.name === mounts.get(dir));
          assert.ok(volume, `${at}: ${dir} is a mounted volume (the root filesystem is read-only)`);
          assert.ok(!(c.volumeMounts as Obj[]).find((m) => m.mountPath === dir)?.readOnly, `${at}: ${dir} is writable`);
        }
      }
    }
  });

  test(`${target}: web and worker probe /health (liveness, startup) and /ready (readiness) on the server's port, with the right roles`, () => {
    const objs = objectsOf(target);
    const expected: Record<string, string> = { 'quire-web': '--roles=api,sync', 'quire-worker': '--roles=worker' };
    for (const [name, rolesArg] of Object.entries(expected)) {
      const d = named(objs, 'Deployment', name);
      const [c, ...others] = d.spec.template.spec.containers as Obj[];
      assert.ok(c && others.length === 0, `${name} runs one container`);
      assert.deepEqual([...c.command, ...c.args], ['node', 'dist/server/main.js', rolesArg], `${name} runs the server with ${rolesArg}`);
      const port = Number(configMapOf(objs, c).PORT);
      assert.ok(port > 0, `${name}: PORT is set in the ConfigMap`);
      for (const [probe, wanted] of [
        ['livenessProbe', '/health'],
        ['startupProbe', '/health'],
        ['readinessProbe', '/ready'],
      ] as const) {
        const p: Obj | undefined = c[probe];
        assert.ok(p?.httpGet, `${name}: ${probe} is an HTTP probe`);
        assert.equal(p.httpGet.path, wanted, `${name}: ${probe} on ${wanted}`);
        assert.equal(portNumber(c, p.httpGet.port), port, `${name}: ${probe} on PORT ${port}`);
      }
      assert.ok((d.spec.template.metadata.labels as Record<string, string>)['app.kubernetes.io/component'], `${name}: pods carry a component label`);
      assert.ok(matches(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${name}: selector matches its pods`);
      assert.equal(d.spec.replicas, undefined, `${name}: no replica count (the HPA owns it)`);
    }
  });

  test(`${target}: every variable the ConfigMap and the Secret set is one the server reads, and together they make a valid configuration`, () => {
    const objs = objectsOf(target);
    const known = knownVariables();
    for (const cm of ofKind(objs, 'ConfigMap')) {
      for (const k of Object.keys(cm.data ?? {})) assert.ok(known.has(k), `ConfigMap ${cm.metadata.name}: ${k} is a variable lib/config.ts reads`);
    }
    for (const k of SECRET_EXAMPLE.keys()) assert.ok(known.has(k), `secrets.example.env: ${k} is a variable lib/config.ts reads`);
    const secretKeysPerPod: string[][] = [];
    for (const { owner, template } of podTemplates(objs)) {
      for (const c of containersOf(template)) {
        const at = `${owner.kind}/${owner.metadata.name} container ${c.name}`;
        const secretKeys: string[] = [];
        for (const e of (c.env ?? []) as Obj[]) {
          assert.ok(known.has(e.name), `${at}: env ${e.name} is a variable lib/config.ts reads`);
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) {
            assert.equal(ref.name, 'quire-secrets', `${at}: ${e.name} comes from the Secret quire-secrets`);
            assert.equal(ref.key, e.name, `${at}: ${e.name} is the Secret's key of the same name`);
            assert.ok(SECRET_EXAMPLE.has(ref.key), `${at}: ${ref.key} is documented in secrets.example.env`);
            secretKeys.push(ref.key);
          } else {
            assert.fail(`${at}: ${e.name} is set in the pod spec; settings belong in the ConfigMap, secrets in the Secret`);
          }
        }
        assert.deepEqual(new Set(secretKeys), new Set(SECRET_EXAMPLE.keys()), `${at}: takes every key secrets.example.env documents`);
        secretKeysPerPod.push(secretKeys);
        for (const cm of Object.keys(configMapOf(objs, c))) assert.ok(!SECRET_EXAMPLE.has(cm), `${at}: ${cm} is not both in the ConfigMap and the Secret`);

        // The ConfigMap with the example Secret's keys (placeholders of the right shape) parses.
        const env: Record<string, string> = { ...configMapOf(objs, c), ...Object.fromEntries(SECRET_EXAMPLE) };
        env.SECRETS_KEY = Buffer.alloc(32, 1).toString('base64');
        const argv = ['node', 'main', ...((c.args ?? []) as string[]).filter((a) => a.startsWith('--roles='))];
        try {
          const config = loadConfig(env, argv);
          assert.equal(config.env, 'production', `${at}: NODE_ENV=production`);
          assert.equal(config.files.backend, 's3', `${at}: files in object storage (pods share no disk)`);
          assert.ok(config.database.url && config.redis.url, `${at}: Postgres and Redis are configured (the scaled profile)`);
        } catch (e) {
          if (e instanceof ConfigError) assert.fail(`${at}: the configuration does not parse: ${e.problems.join('; ')}`);
          throw e;
        }
      }
    }
    const [first, ...rest] = secretKeysPerPod;
    for (const keys of rest) assert.deepEqual(keys, first, 'web, worker and the migration Job take the same Secret keys');
  });

  test(`${target}: the migration Job runs \`quire db migrate\` on the same image and settings as the servers`, async () => {
    const objs = objectsOf(target);
    const job = named(objs, 'Job', 'quire-migrate');
    const [c] = job.spec.template.spec.containers as Obj[];
    assert.equal(job.spec.template.spec.restartPolicy, 'Never', 'a failed run is retried by the Job (backoffLimit), not in place');
    assert.deepEqual(c!.command, ['node', 'dist/server/cli/main.js', 'db', 'migrate'], 'the Job runs quire db migrate');
    const { group } = await import('../server/cli/db.js');
    assert.ok(group.commands.migrate, 'the CLI has the db migrate command the Job runs');
    for (const name of ['quire-web', 'quire-worker']) {
      const server = named(objs, 'Deployment', name).spec.template.spec.containers[0] as Obj;
      assert.equal(c!.image, server.image, `the Job uses ${name}'s image`);
      assert.deepEqual(c!.envFrom, server.envFrom, `the Job takes ${name}'s ConfigMap`);
    }
  });

  test(`${target}: autoscalers, disruption budgets, Services, the Ingress and network policies point at pods that exist`, () => {
    const objs = objectsOf(target);
    const deployments = ofKind(objs, 'Deployment');
    const podsMatching = (selector: Record<string, string>) => podTemplates(objs).filter(({ template }) => matches(selector, template.metadata.labels));
    for (const hpa of ofKind(objs, 'HorizontalPodAutoscaler')) {
      const at = `HPA ${hpa.metadata.name}`;
      const ref = hpa.spec.scaleTargetRef;
      assert.equal(ref.kind, 'Deployment', `${at} scales a Deployment`);
      assert.ok(
        deployments.some((d) => d.metadata.name === ref.name),
        `${at}: its target ${ref.name} is rendered`,
      );
      assert.ok(hpa.spec.minReplicas >= 1 && hpa.spec.minReplicas <= hpa.spec.maxReplicas, `${at}: 1 ≤ minReplicas ≤ maxReplicas`);
      for (const m of hpa.spec.metrics as Obj[]) {
        if (m.type !== 'Pods') continue;
        const metric = m.pods.metric.name as string;
        const exported = spawnSync('grep', ['-rlE', `name: '${metric}'`, 'sync', 'server', 'lib', 'core', 'ml-workers'], { cwd: ROOT, encoding: 'utf8' });
        assert.ok(exported.stdout.trim(), `${at}: the metric ${metric} is one the server exports`);
      }
    }
    const web = named(objs, 'HorizontalPodAutoscaler', 'quire-web');
    assert.ok(
      (web.spec.metrics as Obj[]).some((m) => m.type === 'Pods' && m.pods.metric.name === 'quire_sync_sockets'),
      'the web HPA scales on open sync sockets',
    );
    assert.ok(
      (web.spec.metrics as Obj[]).some((m) => m.type === 'Resource' && m.resource.name === 'cpu'),
      'the web HPA scales on CPU',
    );

    for (const pdb of ofKind(objs, 'PodDisruptionBudget')) {
      const pods = podsMatching(pdb.spec.selector.matchLabels);
      assert.equal(pods.length, 1, `PDB ${pdb.metadata.name} selects the pods of exactly one workload: ${pods.map((p) => p.owner.metadata.name).join(', ')}`);
      assert.equal(pods[0]!.owner.kind, 'Deployment', `PDB ${pdb.metadata.name} guards a Deployment`);
    }
    for (const name of ['quire-web', 'quire-worker']) {
      assert.ok(
        ofKind(objs, 'PodDisruptionBudget').some((p) => matches(p.spec.selector.matchLabels, named(objs, 'Deployment', name).spec.template.metadata.labels)),
        `${name} has a PodDisruptionBudget`,
      );
    }

    for (const svc of ofKind(objs, 'Service')) {
      const pods = podsMatching(svc.spec.selector);
      assert.equal(pods.length, 1, `Service ${svc.metadata.name} selects the pods of exactly one workload`);
      const c = pods[0]!.template.spec.containers[0] as Obj;
      for (const p of svc.spec.ports as Obj[]) portNumber(c, p.targetPort);
    }

    for (const ing of ofKind(objs, 'Ingress')) {
      const a = ing.metadata.annotations ?? {};
      for (const k of ['proxy-read-timeout', 'proxy-send-timeout']) {
        const v = Number(a[`nginx.ingress.kubernetes.io/${k}`]);
        assert.ok(v >= 3600, `Ingress ${ing.metadata.name}: ${k} keeps WebSockets open (≥ 3600 s): ${v}`);
      }
      for (const rule of ing.spec.rules as Obj[]) {
        for (const p of rule.http.paths as Obj[]) {
          const svc = named(objs, 'Service', p.backend.service.name);
          assert.ok(
            (svc.spec.ports as Obj[]).some((sp) => sp.name === p.backend.service.port.name || sp.port === p.backend.service.port.number),
            `Ingress ${ing.metadata.name}: the Service port it names exists`,
          );
        }
      }
    }

    for (const np of ofKind(objs, 'NetworkPolicy')) {
      assert.ok(podsMatching(np.spec.podSelector.matchLabels ?? {}).length >= 1, `NetworkPolicy ${np.metadata.name} selects pods that exist`);
    }
  });

  test(`${target}: grace periods cover the preStop sleep plus every shutdown step at its bound`, () => {
    const objs = objectsOf(target);
    for (const d of ofKind(objs, 'Deployment')) {
      const c = d.spec.template.spec.containers[0] as Obj;
      const roles = (c.args as string[])
        .find((a) => a.startsWith('--roles='))!
        .slice('--roles='.length)
        .split(',');
      const stepMs = Number(configMapOf(objs, c).SHUTDOWN_TIMEOUT_MS ?? 10_000);
      const preStop = c.lifecycle?.preStop?.exec?.command as string[] | undefined;
      const sleep = preStop ? Number(preStop[1]) : 0;
      if (roles.includes('api') || roles.includes('sync')) {
        assert.deepEqual(preStop?.[0], 'sleep', `${d.metadata.name}: a preStop sleep lets the load balancer stop routing before sockets close`);
        assert.ok(sleep >= 5, `${d.metadata.name}: the preStop sleep is at least 5 s: ${sleep}`);
      }
      const steps = shutdownSteps(roles);
      const budget = sleep + (steps * stepMs) / 1000;
      assert.ok(
        d.spec.template.spec.terminationGracePeriodSeconds >= budget,
        `${d.metadata.name}: terminationGracePeriodSeconds ${d.spec.template.spec.terminationGracePeriodSeconds} ≥ ${sleep} s preStop + ${steps} steps × ${stepMs} ms = ${budget} s`,
      );
    }
  });
}
