// Prometheus metrics on their own HTTP port, apart from the gRPC listener.
import http from 'node:http';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import client from 'prom-client';
import { status as grpcStatus } from '@grpc/grpc-js';

export class Metrics {
  readonly registry = new client.Registry();
  readonly rpcTotal = new client.Counter({ name: 'gatekeeper_rpc_total', help: 'RPCs answered, by method and status code', labelNames: ['method', 'code'], registers: [this.registry] });
  readonly rpcSeconds = new client.Histogram({ name: 'gatekeeper_rpc_seconds', help: 'RPC handling time', labelNames: ['method'], buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10], registers: [this.registry] });
  readonly sealed = new client.Gauge({ name: 'gatekeeper_sealed', help: '1 while the node is sealed', registers: [this.registry] });
  readonly epoch = new client.Gauge({ name: 'gatekeeper_committee_epoch', help: 'epoch of the active committee (0 = none)', registers: [this.registry] });
  readonly ceremonyTransitions = new client.Counter({ name: 'gatekeeper_ceremony_transitions_total', help: 'ceremony state transitions', labelNames: ['state'], registers: [this.registry] });
  readonly alarms = new client.Counter({ name: 'gatekeeper_alarms_total', help: 'security alarms raised', labelNames: ['kind'], registers: [this.registry] });
  readonly attestationRoot = new client.Gauge({ name: 'gatekeeper_attestation_root_info', help: 'the pinned attestation root (1); development="1" when it is not Intel\'s SGX Root CA', labelNames: ['sha256', 'development'], registers: [this.registry] });
  readonly snpArk = new client.Gauge({ name: 'gatekeeper_snp_ark_info', help: 'a trusted SEV-SNP ARK (1); development="1" when it is not AMD\'s', labelNames: ['sha256', 'development'], registers: [this.registry] });
  readonly unsealFailures = new client.Counter({ name: 'gatekeeper_unseal_failures_total', help: 'unseal calls refused (malformed, not one of this node\'s shares, or rate limited)', labelNames: ['reason'], registers: [this.registry] });
  readonly provisionings = new client.Counter({ name: 'gatekeeper_provisionings_total', help: 'contract-key provisioning requests answered: result="released", or the refusal\'s gRPC status (permission_denied, failed_precondition, ...)', labelNames: ['result'], registers: [this.registry] });
  readonly provisioningSeconds = new client.Histogram({ name: 'gatekeeper_provisioning_seconds', help: 'time to answer a provisioning request (quote verification, policy, derivation and fan-out to the other members)', labelNames: ['result'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly ceremonyPhaseSeconds = new client.Histogram({ name: 'gatekeeper_ceremony_phase_seconds', help: 'how long a ceremony stayed in a phase, by the phase it left', labelNames: ['phase'], buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800], registers: [this.registry] });
  readonly auditEvents = new client.Counter({ name: 'gatekeeper_audit_events_total', help: 'audit log entries written, by action', labelNames: ['action'], registers: [this.registry] });
  readonly heapAfterMajorGc = new client.Gauge({ name: 'gatekeeper_heap_used_after_major_gc_bytes', help: 'V8 heap in use just after the last full (mark-compact) collection: the live set, which grows with a leak while the heap in use at any moment also holds garbage not yet collected', registers: [this.registry] });
  private readonly gcObserver = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR)) {
      this.heapAfterMajorGc.set(v8.getHeapStatistics().used_heap_size);
    }
  });
  private server: http.Server | undefined;
  private readonly rpcChildren = new Map<string, { total: client.Counter.Internal; seconds: client.Histogram.Internal<string> }>();

  /** Counts one answered RPC; the labelled children are looked up once per method and code. */
  observeRpc(method: string, code: number, seconds: number): void {
    const key = `${method} ${code}`;
    let c = this.rpcChildren.get(key);
    if (!c) {
      c = { total: this.rpcTotal.labels(method, grpcStatus[code] ?? String(code)), seconds: this.rpcSeconds.labels(method) };
      this.rpcChildren.set(key, c);
    }
    c.total.inc();
    c.seconds.observe(seconds);
    if (method.endsWith('/ProvisionContractKey')) {
      const result = code === grpcStatus.OK ? 'released' : (grpcStatus[code] ?? String(code)).toLowerCase();
      this.provisionings.labels(result).inc();
      this.provisioningSeconds.labels(result === 'released' ? 'released' : 'refused').observe(seconds);
    }
  }

  constructor() {
    // The event-loop lag histogram samples every 10 ms by default, which alone costs an idle node about
    // 8 ms of CPU per second; 100 ms resolution is enough for a service's lag metric and costs ~1 ms/s.
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  /** Serves GET /metrics on host:port; resolves to the bound port. */
  async listen(hostPort: string): Promise<number> {
    const idx = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, idx).replace(/^\[|\]$/g, '');
    const port = Number(hostPort.slice(idx + 1));
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') { res.writeHead(404).end(); return; }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  async close(): Promise<void> {
    this.gcObserver.disconnect();
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
