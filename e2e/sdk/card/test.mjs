// Drives opsync's card API through the service's official Node SDK
// (@alicloud/dingtalk 2.2.27), unchanged: only its endpoint points at the
// node, over plain HTTP. The access token is obtained the service's way
// (oauth2_1_0 getAccessToken with the instance's app key and secret) and
// sent by the SDK in x-acs-dingtalk-access-token; every card call goes
// through the card_1_0 client's ...WithOptions methods, as the service's
// own samples do. Between SDK calls the script reads the card back through
// opsync's GET /v1.0/card/instances (not part of the SDK) to check that
// merge-by-key and replace stored what they should.
//
// Each step that passes prints "ok <step>" on stderr; the last stdout line
// is one JSON object {"cards": {outTrackId: expected state}, "absent":
// [outTrackId…]} that e2e/card_sdk_test.go checks against the node. Any
// failed assertion exits non-zero.
//
// Environment: OPSYNC_SERVER (host:port of the node), APP_KEY (the
// instance id), APP_SECRET (its API key), CALLBACK_URL (a URL the node
// accepts for registerCallback), RUN (a suffix making ids unique).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Card = require('@alicloud/dingtalk/card_1_0');
const OAuth2 = require('@alicloud/dingtalk/oauth2_1_0');
const $OpenApi = require('@alicloud/openapi-client');
const $Util = require('@alicloud/tea-util');

const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const SERVER = env('OPSYNC_SERVER');
const APP_KEY = env('APP_KEY');
const APP_SECRET = env('APP_SECRET');
const CALLBACK_URL = env('CALLBACK_URL', 'https://callback.example.com/card');
const RUN = env('RUN', String(Date.now()));

// The SDK's endpoint is the host and the URL authority; protocol 'http'
// for a plain node.
const config = () => new $OpenApi.Config({ endpoint: SERVER, protocol: 'http' });
const card = new Card.default(config());
const oauth = new OAuth2.default(config());
const runtime = () => new $Util.RuntimeOptions({});

const ok = (name) => process.stderr.write(`ok ${name}\n`);

// throwsCode runs fn and asserts the SDK threw its ResponseError with
// this code and HTTP status, carrying opsync's error body.
async function throwsCode(fn, code, status = 400) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected the SDK to throw ${code}`);
  assert.equal(err.code, code, `error code (${err.message})`);
  assert.equal(err.statusCode, status, `HTTP status of ${code}`);
  assert.equal(err.data.code, code);
  assert.equal(typeof err.data.message, 'string');
  assert.ok(err.data.message.length > 0, 'an error has a message');
  assert.equal(typeof err.data.requestid, 'string', 'an error has a requestid');
  assert.ok(err.data.requestid.length > 0, 'an error has a non-empty requestid');
  assert.match(err.message, new RegExp(`^${code.replace('.', '\\.')}: code: ${status}, .+ request id: ${err.data.requestid}$`));
  return err;
}

// get reads a card through opsync's own route (no SDK method for it).
async function get(outTrackId, token) {
  const res = await fetch(`http://${SERVER}/v1.0/card/instances?outTrackId=${encodeURIComponent(outTrackId)}`, {
    headers: { 'x-acs-dingtalk-access-token': token },
  });
  const body = await res.json();
  return { status: res.status, body };
}

// ---- the access token, the service's way ----
const tokenRes = await oauth.getAccessToken(new OAuth2.GetAccessTokenRequest({ appKey: APP_KEY, appSecret: APP_SECRET }));
assert.equal(tokenRes.statusCode, 200);
assert.equal(typeof tokenRes.body.accessToken, 'string');
assert.ok(tokenRes.body.accessToken.length > 20, 'an access token');
assert.equal(tokenRes.body.expireIn, 7200);
const token = tokenRes.body.accessToken;
ok('getAccessToken');

await throwsCode(
  () => oauth.getAccessToken(new OAuth2.GetAccessTokenRequest({ appKey: APP_KEY, appSecret: APP_SECRET + 'x' })),
  'InvalidAuthentication', 400); // a refused request body: 400, as the service's other refusals
ok('getAccessToken with a wrong secret');

const headers = (Class, tok = token) => new Class({ xAcsDingtalkAccessToken: tok });

// ---- registerCallback ----
const routeKey = `route-${RUN}`;
const reg = await card.registerCallbackWithOptions(
  new Card.RegisterCallbackRequest({ callbackRouteKey: routeKey, callbackUrl: CALLBACK_URL }),
  headers(Card.RegisterCallbackHeaders), runtime());
assert.equal(reg.statusCode, 200);
assert.equal(reg.body.success, true);
assert.equal(reg.body.result.callbackUrl, CALLBACK_URL);
assert.equal(typeof reg.body.result.apiSecret, 'string');
assert.ok(reg.body.result.apiSecret.length >= 16, 'an absent apiSecret is generated');
ok('registerCallback (generated apiSecret)');

await throwsCode(() => card.registerCallbackWithOptions(
  new Card.RegisterCallbackRequest({ callbackRouteKey: routeKey, callbackUrl: CALLBACK_URL + '/2', apiSecret: 'other-secret-123456' }),
  headers(Card.RegisterCallbackHeaders), runtime()), 'param.callbackRouteKeyExist');
ok('registerCallback again without forceUpdate');

const apiSecret = `secret-${RUN}-0123456789`;
const reg2 = await card.registerCallbackWithOptions(
  new Card.RegisterCallbackRequest({ callbackRouteKey: routeKey, callbackUrl: CALLBACK_URL + '/2', apiSecret, forceUpdate: true }),
  headers(Card.RegisterCallbackHeaders), runtime());
assert.equal(reg2.body.success, true);
assert.deepEqual({ ...reg2.body.result }, { apiSecret, callbackUrl: CALLBACK_URL + '/2' });
ok('registerCallback with forceUpdate');

// ---- createCard ----
const creator = `creator-${RUN}`;
const userB = `userB-${RUN}`;
const idA = `card-a-${RUN}`;
const dynamicConfig = {
  dynamicDataSourceConfigs: [
    { dynamicDataSourceId: 'weather', pullConfig: { pullStrategy: 'INTERVAL', interval: 30, timeUnit: 'SECONDS' } },
    { dynamicDataSourceId: 'balance', constParams: { account: 'main' }, pullConfig: { pullStrategy: 'ONCE' } },
  ],
};
const createA = {
  outTrackId: idA,
  cardTemplateId: 'tpl.poll.v1',
  userId: creator,
  userIdType: 1,
  callbackType: 'HTTP',
  callbackRouteKey: routeKey,
  cardData: { cardParamMap: { title: 'Lunch poll', votes: '0', status: 'open' } },
  privateData: { [userB]: { cardParamMap: { myVote: 'none', note: 'b only' } } },
  openDynamicDataConfig: dynamicConfig,
  imRobotOpenSpaceModel: { supportForward: true, lastMessageI18n: { en_US: 'a poll' } },
};
const created = await card.createCardWithOptions(new Card.CreateCardRequest(createA), headers(Card.CreateCardHeaders), runtime());
assert.equal(created.statusCode, 200);
assert.equal(created.body.success, true);
assert.equal(created.body.result, idA);
ok('createCard');

let g = await get(idA, token);
assert.equal(g.status, 200, JSON.stringify(g.body));
assert.deepEqual(g.body.result.cardData.cardParamMap, createA.cardData.cardParamMap);
assert.deepEqual(g.body.result.privateData[userB].cardParamMap, createA.privateData[userB].cardParamMap);
ok('GET after createCard');

await throwsCode(() => card.createCardWithOptions(
  new Card.CreateCardRequest({ ...createA, cardData: { cardParamMap: { title: 'overwritten?' } } }),
  headers(Card.CreateCardHeaders), runtime()), 'param.cardAlreadyExist');
g = await get(idA, token);
assert.deepEqual(g.body.result.cardData.cardParamMap, createA.cardData.cardParamMap, 'a refused duplicate changes nothing');
ok('createCard duplicate');

const idShort = `card-short-${RUN}`;
await throwsCode(() => card.createCardWithOptions(new Card.CreateCardRequest({
  outTrackId: idShort, cardTemplateId: 'tpl.poll.v1', userId: creator, callbackRouteKey: routeKey,
  cardData: { cardParamMap: { title: 'too fast' } },
  openDynamicDataConfig: { dynamicDataSourceConfigs: [{ dynamicDataSourceId: 'tick', pullConfig: { pullStrategy: 'INTERVAL', interval: 5, timeUnit: 'SECONDS' } }] },
}), headers(Card.CreateCardHeaders), runtime()), 'param.dynamicDataPullIntervalInvalid');
ok('createCard with an INTERVAL of 5 s');

// The service's docs send the interval as a decimal string; the SDK passes
// it through as given.
const idStr = `card-str-${RUN}`;
const createStr = {
  outTrackId: idStr, cardTemplateId: 'tpl.poll.v1', userId: creator, callbackRouteKey: routeKey,
  cardData: { cardParamMap: { title: 'string interval' } },
  openDynamicDataConfig: { dynamicDataSourceConfigs: [{ dynamicDataSourceId: 'clock', pullConfig: { pullStrategy: 'INTERVAL', interval: '1', timeUnit: 'MINUTES' } }] },
};
const createdStr = await card.createCardWithOptions(new Card.CreateCardRequest(createStr), headers(Card.CreateCardHeaders), runtime());
assert.equal(createdStr.body.result, idStr);
ok('createCard with interval "1" MINUTES');

// ---- updateCard: merge by key, then replace ----
const upd = (req) => card.updateCardWithOptions(new Card.UpdateCardRequest(req), headers(Card.UpdateCardHeaders), runtime());
let u = await upd({
  outTrackId: idA, userIdType: 1,
  cardData: { cardParamMap: { votes: '1' } },
  privateData: { [userB]: { cardParamMap: { myVote: 'pizza' } } },
  cardUpdateOptions: { updateCardDataByKey: true, updatePrivateDataByKey: true },
});
assert.equal(u.statusCode, 200);
assert.deepEqual({ ...u.body }, { result: true, success: true });
g = await get(idA, token);
assert.deepEqual(g.body.result.cardData.cardParamMap, { title: 'Lunch poll', votes: '1', status: 'open' }, 'merged by key');
assert.deepEqual(g.body.result.privateData[userB].cardParamMap, { myVote: 'pizza', note: 'b only' }, 'private data merged by key');
ok('updateCard merge by key');

const replaced = { title: 'Lunch poll (closed)', status: 'closed' };
const replacedB = { myVote: 'sushi' };
u = await upd({
  outTrackId: idA,
  cardData: { cardParamMap: replaced },
  privateData: { [userB]: { cardParamMap: replacedB } },
  cardUpdateOptions: { updateCardDataByKey: false, updatePrivateDataByKey: false },
});
assert.equal(u.body.result, true);
g = await get(idA, token);
assert.deepEqual(g.body.result.cardData.cardParamMap, replaced, 'replaced');
assert.deepEqual(g.body.result.privateData[userB].cardParamMap, replacedB, 'private data replaced');
ok('updateCard replace');

await throwsCode(() => upd({ outTrackId: `card-missing-${RUN}`, cardData: { cardParamMap: { a: 'b' } } }), 'param.cardNotExist');
ok('updateCard of an unknown card');

// ---- deliverCard ----
const robotUser = `robot-${RUN}`;
const groupId = `cid-${RUN}`;
const g1 = `g1-${RUN}`;
const g2 = `g2-${RUN}`;
const dlv = await card.deliverCardWithOptions(new Card.DeliverCardRequest({
  outTrackId: idA,
  openSpaceId: `dtv1.card//im_robot.${robotUser};im_group.${groupId}`,
  userIdType: 1,
  imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: 'robot-code', extension: { k: 'v' } },
  imGroupOpenDeliverModel: { robotCode: 'robot-code', recipients: [g1, g2], atUserIds: { [g1]: 'G one' } },
}), headers(Card.DeliverCardHeaders), runtime());
assert.equal(dlv.statusCode, 200);
assert.equal(dlv.body.success, true);
assert.ok(Array.isArray(dlv.body.result) && dlv.body.result.length === 2, JSON.stringify(dlv.body));
const bySpace = Object.fromEntries(dlv.body.result.map((r) => [r.spaceType, r]));
for (const [type, id] of [['IM_ROBOT', robotUser], ['IM_GROUP', groupId]]) {
  const r = bySpace[type];
  assert.ok(r, `a result for ${type}: ${JSON.stringify(dlv.body.result)}`);
  assert.equal(r.spaceId, id);
  assert.equal(r.success, true, `${type} delivered: ${r.errorMsg}`);
  assert.equal(typeof r.carrierId, 'string');
}
ok('deliverCard im_robot + im_group');

// An im_group space without recipients fails alone: opsync has no group
// membership.
const dlv2 = await card.deliverCardWithOptions(new Card.DeliverCardRequest({
  outTrackId: idA, openSpaceId: `dtv1.card//im_group.${groupId}-empty`,
}), headers(Card.DeliverCardHeaders), runtime());
assert.equal(dlv2.body.success, true);
assert.equal(dlv2.body.result.length, 1);
assert.equal(dlv2.body.result[0].success, false);
assert.ok(dlv2.body.result[0].errorMsg.length > 0, 'the failed space says why');
ok('deliverCard im_group without recipients');

await throwsCode(() => card.deliverCardWithOptions(new Card.DeliverCardRequest({
  outTrackId: `card-missing-${RUN}`, openSpaceId: `dtv1.card//im_robot.${robotUser}`,
}), headers(Card.DeliverCardHeaders), runtime()), 'param.cardNotExist');
ok('deliverCard of an unknown card');

// ---- createAndDeliver ----
const idC = `card-c-${RUN}`;
const single = `single-${RUN}`;
const boxUser = `box-${RUN}`;
const createC = {
  outTrackId: idC, cardTemplateId: 'tpl.notice.v1', userId: creator, userIdType: 1,
  cardData: { cardParamMap: { text: 'hello' } },
  privateData: { [single]: { cardParamMap: { greeting: 'hi single' } } },
  openSpaceId: `dtv1.card//im_single.${single};one_box.${groupId}`,
  imSingleOpenSpaceModel: { supportForward: false },
  topOpenSpaceModel: { spaceType: 'ONE_BOX' },
  imSingleOpenDeliverModel: { extension: { a: 'b' } },
  topOpenDeliverModel: { userIds: [boxUser], platforms: ['android', 'ios'], expiredTimeMillis: Date.now() + 3600_000 },
};
const cd = await card.createAndDeliverWithOptions(new Card.CreateAndDeliverRequest(createC), headers(Card.CreateAndDeliverHeaders), runtime());
assert.equal(cd.statusCode, 200);
assert.equal(cd.body.success, true);
assert.equal(cd.body.result.outTrackId, idC);
assert.equal(cd.body.result.deliverResults.length, 2, JSON.stringify(cd.body.result));
for (const r of cd.body.result.deliverResults) {
  assert.equal(r.success, true, `${r.spaceType} ${r.spaceId}: ${r.errorMsg}`);
}
assert.deepEqual(cd.body.result.deliverResults.map((r) => r.spaceId).sort(), [groupId, single].sort());
ok('createAndDeliver');

await throwsCode(() => card.createAndDeliverWithOptions(new Card.CreateAndDeliverRequest(createC),
  headers(Card.CreateAndDeliverHeaders), runtime()), 'param.cardAlreadyExist');
ok('createAndDeliver duplicate');

// ---- authentication ----
await throwsCode(() => card.updateCardWithOptions(new Card.UpdateCardRequest({ outTrackId: idA, cardData: { cardParamMap: { x: 'y' } } }),
  headers(Card.UpdateCardHeaders, token + 'x'), runtime()), 'InvalidAuthentication', 401);
// The instance's API key itself is accepted as the token.
u = await card.updateCardWithOptions(new Card.UpdateCardRequest({
  outTrackId: idStr, cardData: { cardParamMap: { by: 'api key' } }, cardUpdateOptions: { updateCardDataByKey: true },
}), headers(Card.UpdateCardHeaders, APP_SECRET), runtime());
assert.equal(u.body.result, true);
ok('authentication');

// ---- methods opsync does not serve: an error the SDK can read ----
await throwsCode(() => card.streamingUpdateWithOptions(new Card.StreamingUpdateRequest({
  outTrackId: idA, guid: `g-${RUN}`, key: 'k', content: 'c',
}), headers(Card.StreamingUpdateHeaders), runtime()), 'system.notSupported', 404);
await throwsCode(() => card.appendSpaceWithOptions(new Card.AppendSpaceRequest({ outTrackId: idA }),
  headers(Card.AppendSpaceHeaders), runtime()), 'system.notSupported', 404);
ok('unserved methods');

// What the node must hold now, for the Go test to read back.
const sorted = (a) => [...a].sort();
console.log(JSON.stringify({
  cards: {
    [idA]: {
      cardTemplateId: createA.cardTemplateId,
      cardParamMap: replaced,
      privateData: { [userB]: replacedB },
      recipients: sorted([creator, userB, robotUser, g1, g2]),
      sources: ['weather', 'balance'],
      callbackRouteKey: routeKey,
    },
    [idStr]: {
      cardTemplateId: createStr.cardTemplateId,
      cardParamMap: { title: 'string interval', by: 'api key' },
      privateData: {},
      recipients: [creator],
      sources: ['clock'],
      callbackRouteKey: routeKey,
    },
    [idC]: {
      cardTemplateId: createC.cardTemplateId,
      cardParamMap: createC.cardData.cardParamMap,
      privateData: { [single]: createC.privateData[single].cardParamMap },
      recipients: sorted([creator, single, boxUser]),
      sources: [],
      callbackRouteKey: '',
    },
  },
  absent: [idShort, `card-missing-${RUN}`],
  deliveries: { [robotUser]: [idA], [g1]: [idA], [g2]: [idA], [single]: [idC], [boxUser]: [idC] },
}));
