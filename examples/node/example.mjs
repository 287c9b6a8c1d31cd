// vibecraft from Node.js (pg): sign up, get credits, create a project, save a provider
// key, spend credits, read the statistics.
//
//   DATABASE_URL=postgresql://app@localhost/mydb VIBECRAFT_JWT_SECRET=... node example.mjs
//
// DATABASE_URL names the application's login role (a member of vibecraft_authenticated),
// never a superuser. Tokens normally come from your auth server; this program signs its
// own with the server's JWT secret so that it can run on its own.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import pg from "pg";

// An HS256 token, as an auth server (Supabase GoTrue, Auth.js, ...) issues it.
function signJwt(claims, secret) {
  const b64 = (value) => Buffer.from(value).toString("base64url");
  const header = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) + 600 }));
  const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${signature}`;
}

function check(ok, what) {
  if (!ok) throw new Error(`node example failed: ${what}`);
}

// Run `work` in one transaction that acts as the token's subject; the identity ends with it.
async function signedIn(client, token, work) {
  await client.query("BEGIN");
  try {
    await client.query("SELECT vibecraft.authenticate($1)", [token]);
    const result = await work();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

const secret = process.env.VIBECRAFT_JWT_SECRET;
const userId = randomUUID();
const email = `node-${userId.slice(0, 8)}@example.com`;
// The auth server vouches for the address: a user signs up only with its token's email.
const userToken = signJwt({ sub: userId, role: "authenticated", email }, secret);
// The backend's own identity: role service_role may act for any user.
const backendToken = signJwt({ sub: randomUUID(), role: "service_role" }, secret);

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
try {
  await signedIn(client, userToken, () =>
    client.query("INSERT INTO vibecraft.users (id, email, name) VALUES ($1, $2, $3)", [
      userId,
      email,
      "Node example",
    ]),
  );

  const balance = await signedIn(client, backendToken, async () => {
    const { rows } = await client.query("SELECT vibecraft.add_credits($1, 100, 'welcome credits', $2) AS balance", [
      userId,
      `welcome:${userId}`,
    ]);
    return rows[0].balance;
  });
  check(balance === 100, `balance ${balance} after the welcome credits`);

  const providerKey = "sk-proj-" + randomBytes(16).toString("hex");
  const { projectId, hint } = await signedIn(client, userToken, async () => {
    const project = await client.query(
      "INSERT INTO vibecraft.projects (user_id, name) VALUES ($1, 'Node example project') RETURNING id",
      [userId],
    );
    await client.query("SELECT vibecraft.save_provider_key('openai', $1)", [providerKey]);
    const masked = await client.query("SELECT vibecraft.provider_key('openai') AS hint");
    return { projectId: project.rows[0].id, hint: masked.rows[0].hint };
  });
  check(!hint.includes(providerKey), "the owner must see a masked hint, never the key");

  const stats = await signedIn(client, userToken, async () => {
    const deducted = await client.query("SELECT vibecraft.deduct_credits($1, 5, 'image generation') AS ok", [userId]);
    check(deducted.rows[0].ok === true, "deduct_credits refused 5 of 100 credits");
    const { rows } = await client.query("SELECT vibecraft.get_user_stats($1) AS stats", [userId]);
    return rows[0].stats;
  });
  check(stats.credits === 95 && stats.credits_spent === 5 && stats.projects_owned === 1, JSON.stringify(stats));
  console.log(
    `node: user ${userId} made project ${projectId}, saved an openai key (${hint}), ` +
      `spent ${stats.credits_spent} credits, ${stats.credits} left`,
  );
} finally {
  await client.end();
}
