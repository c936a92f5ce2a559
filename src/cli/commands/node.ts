// `gatekeeper node --config FILE`: runs one node until SIGINT or SIGTERM.
import type { Command } from '../main.js';
import { parseCommandArgs, requireOption, UsageError } from '../args.js';
import { ConfigError, loadConfig } from '../../node/config.js';
import { GatekeeperNode, NodeStartError } from '../../node/node.js';
import { DatabasePermissionError } from '../../store/database.js';

const command: Command = {
  summary: 'run a gatekeeper node (starts sealed)',
  async run(argv) {
    const { values } = parseCommandArgs(argv, { config: { type: 'string' }, help: { type: 'boolean' } });
    if (values.help) {
      process.stdout.write('usage: gatekeeper node --config FILE\n\nRuns a node. It starts sealed: unseal it with `gatekeeper unseal`.\n');
      return 0;
    }
    let config;
    try { config = loadConfig(requireOption(values, 'config')); } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    let node: GatekeeperNode;
    try { node = new GatekeeperNode(config); } catch (err) {
      // A development attestation root without the flag, or a database others can read: refuse to start.
      if (err instanceof ConfigError || err instanceof DatabasePermissionError) throw new UsageError(err.message);
      throw err;
    }
    try {
      await node.start();
    } catch (err) {
      // A port in use or an address that cannot be bound: say which field, stop, exit 1.
      if (!(err instanceof NodeStartError)) throw err;
      process.stderr.write(`gatekeeper node: ${err.message}\n`);
      await node.stop().catch(() => undefined);
      return 1;
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await node.stop();
    return 0;
  },
};
export default command;
