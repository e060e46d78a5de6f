/** The SDK's calls for share links and the workspace, against a running server: typed values and typed errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/node.js';
import { startServer } from './helpers/server.js';

const email = (who: string) => `${who}-${Math.random().toString(36).slice(2)}@example.test`;

test('link access, public links and the workspace setting through the SDK; the public read needs no session', async (t) => {
  const { url } = await startServer(t);
  const owner = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await owner.signup({ tenant: 'Org', email: email('owner'), password: 'correct horse battery' }));
  const memberEmail = email('member');
  unwrap(await owner.createUser({ email: memberEmail, password: 'another good password', role: 'member' }));
  const member = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await member.login({ email: memberEmail, password: 'another good password' }));

  // Link access: the member reads with the address, and finds it only once opened.
  const doc = unwrap(await owner.createDocument({ title: 'Plan', text: 'First step' }));
  const hidden = await member.getDocument(doc.id);
  assert.ok(!hidden.ok && hidden.error.code === 'document_not_found', "!hidden.ok && hidden.error.code === 'document_not_found'");
  const shared = unwrap(await owner.setLinkAccess(doc.id, 'read'));
  assert.equal(shared.linkAccess, 'read');
  assert.equal(unwrap(await member.getDocument(doc.id)).access, 'read');
  const notAdmin = await member.setLinkAccess(doc.id, 'write');
  assert.ok(!notAdmin.ok && notAdmin.error.code === 'forbidden' && notAdmin.error.status === 403, "!notAdmin.ok && notAdmin.error.code === 'forbidden' && notAdmin.error.status === 403");
  assert.deepEqual(unwrap(await member.listDocuments()).documents, []);
  unwrap(await member.recordView(doc.id));
  assert.deepEqual(
    unwrap(await member.listDocuments({ recent: true })).documents.map((d) => d.id),
    [doc.id],
  );

  // Public link: created, read by a client that never signed in, revoked.
  assert.deepEqual(unwrap(await member.getPublicLink(doc.id)), { active: false, createdAt: null, url: null });
  const link = unwrap(await owner.createPublicLink(doc.id));
  assert.equal(link.url, `/p/${link.token}`);
  assert.equal(unwrap(await owner.getDocument(doc.id)).publicLink, true);
  assert.deepEqual(unwrap(await owner.getPublicLink(doc.id)), { active: true, createdAt: link.createdAt, url: null });
  const anonymous = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  const read = unwrap(await anonymous.getPublicDocument(link.token));
  assert.equal(read.title, 'Plan');
  assert.equal(read.text, 'First step');
  assert.equal(read.workspace, 'Org');
  assert.equal(read.json.type, 'doc');

  // The workspace: read by everyone, switched by its owner; off, the link does not answer.
  assert.deepEqual(unwrap(await member.getWorkspace()), { id: owner.user!.tenantId, name: 'Org', publicLinksEnabled: true });
  const refused = await member.updateWorkspace({ publicLinksEnabled: false });
  assert.ok(!refused.ok && refused.error.code === 'forbidden', "!refused.ok && refused.error.code === 'forbidden'");
  assert.equal(unwrap(await owner.updateWorkspace({ publicLinksEnabled: false, name: 'Org Ltd' })).name, 'Org Ltd');
  const off = await anonymous.getPublicDocument(link.token);
  assert.ok(!off.ok && off.error.code === 'public_link_not_found' && off.error.status === 404, "!off.ok && off.error.code === 'public_link_not_found' && off.error.status === 404");
  const disabled = await owner.createPublicLink(doc.id);
  assert.ok(
    !disabled.ok && disabled.error.code === 'public_links_disabled' && disabled.error.status === 403,
    "!disabled.ok && disabled.error.code === 'public_links_disabled' && disabled.error.status === 403",
  );
  unwrap(await owner.updateWorkspace({ publicLinksEnabled: true }));
  assert.equal(unwrap(await anonymous.getPublicDocument(link.token)).workspace, 'Org Ltd');
  unwrap(await owner.revokePublicLink(doc.id));
  const revoked = await anonymous.getPublicDocument(link.token);
  assert.ok(!revoked.ok && revoked.error.code === 'public_link_not_found', "!revoked.ok && revoked.error.code === 'public_link_not_found'");
  assert.equal(anonymous.user, null, 'reading public links starts no session');
});
