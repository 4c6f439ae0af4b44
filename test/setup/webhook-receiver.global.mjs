// vitest globalSetup for the Worker tests: the loopback webhook receiver the events tests POST to, on the
// port vitest.config.ts chose (and named in the test WEBHOOKS binding).
import { startReceiver } from "../../scripts/lib/webhook-receiver.mjs";

export default async function setup() {
  const receiver = await startReceiver(Number(process.env.WHARF_TEST_RECEIVER_PORT));
  return () => receiver.close();
}
