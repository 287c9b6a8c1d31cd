// A tiny application file written against the generated types (vibecraft.ts, written
// by scripts/test_clients.sh from `SELECT vibecraft.typescript_types()`). It must
// compile with `tsc --strict`; each @ts-expect-error line must fail to compile, so a
// type that is too loose (any, unknown, string where a union belongs) fails the check.
import type {
  Database,
  Enums,
  FunctionArgs,
  FunctionReturns,
  Json,
  Tables,
  TablesInsert,
  TablesUpdate,
} from "./vibecraft";

// Rows: NOT NULL columns are plain, nullable ones carry null.
function describeUser(user: Tables<"users">, balance: Tables<"credit_balances">): string {
  const credits: number = balance.credits;
  const name: string = user.name ?? "(no name)";
  // @ts-expect-error users.name may be null
  const unchecked: string = user.name;
  return `${name} has ${credits} credits (${user.subscription_plan}) ${unchecked}`;
}

// Inserts: columns with defaults are optional, required ones are not.
const project: TablesInsert<"projects"> = { user_id: "5b0c3e0a-0000-4000-8000-000000000001", name: "Launch" };
// @ts-expect-error projects.name is required
const nameless: TablesInsert<"projects"> = { user_id: "5b0c3e0a-0000-4000-8000-000000000001" };
const archive: TablesUpdate<"projects"> = { status: "archived" };
// @ts-expect-error "deleted" is not in the CHECK list of projects.status
const badStatus: TablesUpdate<"projects"> = { status: "deleted" };

// Enums come from CHECK (col IN (...)) lists.
const done: Enums<"orders_status"> = "completed";
// @ts-expect-error "shipped" is not an order status
const shipped: Enums<"orders_status"> = "shipped";

// Views: the seed names are there too (rows of a view may be null anywhere).
function profileEmail(profile: Tables<"user_profiles">): string | null {
  return profile.email;
}

// Functions: arguments with defaults are optional, results are typed.
const deduct: FunctionArgs<"deduct_credits"> = { user_uuid: "5b0c3e0a-0000-4000-8000-000000000001", amount: 5 };
const withReason: FunctionArgs<"deduct_credits"> = { ...deduct, reason: "image generation", idempotency_key: "order-1" };
// @ts-expect-error amount is a number
const textAmount: FunctionArgs<"deduct_credits"> = { user_uuid: "x", amount: "5" };
// @ts-expect-error user_uuid is required
const noUser: FunctionArgs<"deduct_credits"> = { amount: 5 };
const deducted: FunctionReturns<"deduct_credits"> = true;
const balance: FunctionReturns<"add_credits"> = 95;
const stats: FunctionReturns<"get_user_stats"> = { credits: 95, credits_spent: 5 } satisfies Json;
const activity: FunctionReturns<"get_user_activity_summary"> = [{ day: "2026-11-23", prompts: 3, api_calls: 1, tokens: 420, cost_usd: 0.01, credits_spent: 5, credits_added: 0, activities: 4 }];
// @ts-expect-error a set-returning function returns an array
const notArray: FunctionReturns<"get_user_activity_summary"> = { day: "2026-11-23" };

// Relationships, as postgrest-js reads them for embedded selects.
type ProjectLinks = Database["vibecraft"]["Tables"]["projects"]["Relationships"][number]["referencedRelation"];
const owner: ProjectLinks = "users";

export const used = [describeUser, project, nameless, archive, badStatus, done, shipped, profileEmail, withReason, textAmount, noUser, deducted, balance, stats, activity, notArray, owner];
