// The start-up self-test runs the DKG, FROST signing, HPKE and identity signatures end to end.
import { runCryptoSelfTest } from '../../src/crypto/self-test.js';

test('the cryptographic self-test passes and reports the CPU it took', async () => {
  const ms = await runCryptoSelfTest();
  expect(Number.isFinite(ms) && ms > 0).toBe(true);
});
