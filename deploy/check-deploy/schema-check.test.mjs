// The schema check's own test: a valid object passes, and each broken one fails, naming what is
// wrong. scripts/check-deploy.sh runs it before checking the real manifests.
//
//   node schema-check.test.mjs    (exits 1 when a case does not come out as expected)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { checkManifests } from './schema-check.mjs';

const WORK_DIR = path.dirname(fileURLToPath(import.meta.url));

const DEPLOYMENT = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'routeserve' },
  spec: {
    selector: { matchLabels: { app: 'routeserve' } },
    template: {
      metadata: { labels: { app: 'routeserve' } },
      spec: {
        containers: [{
          name: 'routeserve', image: 'routeserve:1', ports: [{ name: 'grpc', containerPort: 50051 }],
          readinessProbe: { grpc: { port: 50051, service: 'routeserve.v1.RouteService' } },
          resources: { limits: { cpu: '2', memory: '2Gi' } },
        }],
      },
    },
  },
};
const SERVICE_MONITOR = {
  apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'routeserve' },
  spec: { selector: { matchLabels: { app: 'routeserve' } }, endpoints: [{ port: 'metrics', interval: '15s' }] },
};
const HPA = {
  apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'routeserve' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'routeserve' }, maxReplicas: 4,
    metrics: [{ type: 'Pods', pods: { metric: { name: 'routeserve_inflight_requests' },
      target: { type: 'AverageValue', averageValue: '8' } } }],
  },
};

// A copy of `object` changed by `edit`.
function broken(object, edit) {
  const copy = structuredClone(object);
  edit(copy);
  return copy;
}
const container = (deployment) => deployment.spec.template.spec.containers[0];

// [name, YAML text, the substring one failure must contain, or null for "passes"]
const CASES = [
  ['valid objects pass', YAML.stringify(DEPLOYMENT) + '---\n' + YAML.stringify(SERVICE_MONITOR) +
    '---\n' + YAML.stringify(HPA), null],
  ['a missing required field', YAML.stringify(broken(DEPLOYMENT, (d) => { delete d.spec.selector; })),
    '/spec must have required property selector'],
  ['a port as a string', YAML.stringify(broken(DEPLOYMENT, (d) => { container(d).ports[0].containerPort = '50051'; })),
    '/containerPort must be integer'],
  ['a quantity that is none', YAML.stringify(broken(DEPLOYMENT, (d) => { container(d).resources.limits.memory = '2 GB'; })),
    'must match format "quantity"'],
  ['a misspelled key', YAML.stringify(broken(DEPLOYMENT, (d) => {
    container(d).readinesProbe = container(d).readinessProbe;
    delete container(d).readinessProbe;
  })), '/spec/template/spec/containers/0/readinesProbe: no such field'],
  ['a misspelled key in a CRD', YAML.stringify(broken(SERVICE_MONITOR, (m) => { m.spec.endpoints[0].intervall = '15s'; })),
    '/spec/endpoints/0/intervall: no such field'],
  ['a CRD field of the wrong type', YAML.stringify(broken(SERVICE_MONITOR, (m) => { m.spec.endpoints[0].port = 9464; })),
    '/spec/endpoints/0/port must be string'],
  ['a field of autoscaling/v1 in autoscaling/v2', YAML.stringify(broken(HPA, (h) => { h.spec.targetCPUUtilizationPercentage = 80; })),
    '/spec/targetCPUUtilizationPercentage: no such field'],
  ['an API version without a schema', YAML.stringify(broken(HPA, (h) => { h.apiVersion = 'autoscaling/v2beta1'; })),
    'no schema for apiVersion autoscaling/v2beta1'],
  ['a duplicate key', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n',
    'Map keys must be unique'],
];

let failed = 0;
for (const [name, text, expected] of CASES) {
  const failures = checkManifests([{ where: name, text }], WORK_DIR);
  const ok = expected === null ? failures.length === 0 : failures.some((f) => f.includes(expected));
  if (!ok) {
    failed++;
    console.error(`schema-check.test: "${name}": expected ${expected === null ? 'no failure' :
      `a failure containing "${expected}"`}, got:\n    ${failures.join('\n    ') || '(none)'}`);
  }
}
if (failed > 0) {
  console.error(`schema-check.test: FAILED (${failed} of ${CASES.length} cases)`);
  process.exitCode = 1;
} else {
  console.log(`schema-check.test: ok (${CASES.length} cases)`);
}
