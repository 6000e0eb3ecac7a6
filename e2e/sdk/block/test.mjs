// Drives opsync's block API through the service's official Node SDK,
// unchanged but for its domain: the SDK fetches a tenant token with the
// app id and secret, then creates a block, waits for a line on stdin (the
// Go test has a viewer on it by then), updates it and sends a typed
// message. Each step's answer is printed as one JSON line.
//
// Environment: OPSYNC_URL, APP_ID, APP_SECRET, OPEN_ID (the viewer's user).
import * as lark from '@larksuiteoapi/node-sdk';
import readline from 'node:readline';

const { OPSYNC_URL, APP_ID, APP_SECRET, OPEN_ID } = process.env;
const client = new lark.Client({
  appId: APP_ID,
  appSecret: APP_SECRET,
  appType: lark.AppType.SelfBuild,
  domain: OPSYNC_URL,
  loggerLevel: lark.LoggerLevel.error,
});

const out = (step, res) => console.log(JSON.stringify({ step, res }));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const created = await client.block.v2.entity.create({
  data: {
    title: 'poll', block_type_id: 'blk_poll', source_data: JSON.stringify({ votes: 0 }),
    source_meta: '{}', version: '1', summary: 'a poll',
  },
});
out('create', created);
const blockId = created.data.entity.block_id;
await lines.next(); // the viewer has the block open

out('update', await client.block.v2.entity.update({
  path: { block_id: blockId },
  data: { block_type_id: 'blk_poll', source_data: JSON.stringify({ votes: 1 }), source_meta: '{}', version: '2' },
}));
out('message', await client.block.v2.message.create({
  data: { block_id: blockId, open_ids: [OPEN_ID], resource: 'badge', body: JSON.stringify({ unread: 3 }), version: '1' },
}));
process.exit(0);
