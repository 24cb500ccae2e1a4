import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestApiServer, type TestApiServerOptions } from './k8s/index.js';

/** A test API server with a kubeconfig file for it (and that file loaded), removed by stop(). */
export interface ApiCluster {
  readonly server: TestApiServer;
  /** Path of the kubeconfig, for flags. */
  readonly kubeconfig: string;
  /** The same, loaded, for in-process clients. */
  readonly kubeConfig: KubeConfig;
  stop(): Promise<void>;
}

export async function startApiCluster(options: TestApiServerOptions = {}): Promise<ApiCluster> {
  const server = await TestApiServer.start(options);
  const dir = mkdtempSync(join(tmpdir(), 'kns-api-'));
  const kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  return {
    server,
    kubeconfig,
    kubeConfig,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
