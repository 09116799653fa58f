// One full cycle of the points bank through the generated client, with the demo data:
// staff sign-in → a volunteer signs in with WeChat and binds → an activity with QR check-in and
// check-out → settlement → points on the volunteer's statement → an order in the points
// supermarket → pickup at the counter → statement → ledger verification.
//
// Every balance is compared exactly (decimal strings). A single difference ends the run with exit 1.
// run-cycle.sh starts the service and the WeChat stand-in and runs this; see README.md.

import { ApiProblem, idempotencyKey, ok, refused } from "./api.js";
import type { Schemas } from "./api.js";
import { MemberApp } from "./member.js";
import type { Asset } from "./member.js";
import { add, atLeast, minor, sub, times } from "./money.js";
import { decodeQrPng } from "./qr.js";
import { StaffConsole } from "./staff.js";

const BASE_URL = process.env["PB_BASE_URL"] ?? "http://127.0.0.1:8080";
const QR_BASE_URL = process.env["PB_QR_BASE_URL"] ?? "https://jfyh.example.cn";
const PASSWORD = process.env["PB_DEMO_PASSWORD"] ?? "demo-admin-2026";
/** How long the activity still runs after it is created; check-in and check-out happen in it. */
const ACTIVITY_SECONDS = Number(process.env["CYCLE_ACTIVITY_SECONDS"] ?? "8");
if (!Number.isInteger(ACTIVITY_SECONDS) || ACTIVITY_SECONDS < 2 || ACTIVITY_SECONDS > 600) {
  throw new Error("CYCLE_ACTIVITY_SECONDS must be a whole number of seconds from 2 to 600");
}
const VILLAGE = "青山村";
const RULE_CODE = "V01";
const POINTS_PER_HOUR = "12.50";
const MINUTE = 60_000;

// ---------------------------------------------------------------------------------------------
// Output and checks

const started = Date.now();
let stepNumber = 0;
let checks = 0;

function step(title: string): void {
  stepNumber += 1;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\n[${seconds}s] step ${stepNumber}: ${title}`);
}

function info(text: string): void {
  console.log(`    ${text}`);
}

class Mismatch extends Error {
  override name = "Mismatch";
}

function expectEqual<T extends string | number | boolean | null>(
  label: string,
  actual: T | undefined,
  expected: T,
): void {
  checks += 1;
  if (actual !== expected) {
    throw new Mismatch(
      `${label}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
    );
  }
  console.log(`    ok  ${label} = ${JSON.stringify(actual)}`);
}

function expectThat(label: string, condition: boolean, detail = ""): void {
  checks += 1;
  if (!condition) {
    throw new Mismatch(`${label}${detail.length > 0 ? `: ${detail}` : ""}`);
  }
  console.log(`    ok  ${label}`);
}

function found<T>(what: string, value: T | undefined): T {
  if (value === undefined) {
    throw new Mismatch(`not found: ${what}`);
  }
  return value;
}

const notes: string[] = [];

/** A difference from the documentation that changes no balance: reported, not fatal. */
function note(text: string): void {
  notes.push(text);
  console.log(`    NOTE ${text}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function walletOf(detail: Schemas["MemberDetail"], asset: Asset): Schemas["Account"] {
  return found(`${asset} wallet of member ${detail.id}`, detail.wallets.find((w) => w.asset === asset));
}

function expectWallet(
  label: string,
  wallet: Schemas["Account"],
  expected: { balance: string; held: string; available: string },
): void {
  expectEqual(`${label} balance`, wallet.balance, expected.balance);
  expectEqual(`${label} held`, wallet.held, expected.held);
  expectEqual(`${label} available`, wallet.available, expected.available);
}

/**
 * The staff API masks phone numbers (`139****0005`), so no client can learn the number a member
 * registered with. The demo numbers its members `139` + 8 digits from 00010000 (src/cli.rs),
 * so the masked form of a demo member gives the whole number back; the bind checks it.
 */
function demoPhone(masked: string): string {
  const match = /^139\*{4}(\d{4})$/.exec(masked);
  const last = match?.[1];
  if (last === undefined) {
    throw new Mismatch(`not a demo member's phone number: ${masked}`);
  }
  return `1390001${last}`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`points bank cycle against ${BASE_URL}`);
  const settings = { baseUrl: BASE_URL };

  step("staff sign in (platform admin, village admin, organiser, clerk)");
  const admin = new StaffConsole(settings);
  const villageAdmin = new StaffConsole(settings);
  const organiser = new StaffConsole(settings);
  const clerk = new StaffConsole(settings);
  for (const [who, console_, phone] of [
    ["platform admin", admin, "13800000000"],
    ["village admin", villageAdmin, "13800000002"],
    ["organiser", organiser, "13800000003"],
    ["clerk", clerk, "13800000004"],
  ] satisfies [string, StaffConsole, string][]) {
    const tokens = await console_.signIn(phone, PASSWORD);
    expectEqual(`${who} ${phone} token_type`, tokens.token_type, "Bearer");
  }
  const wrongPassword = await new StaffConsole(settings).api.POST("/api/v1/auth/login", {
    body: { phone: "13800000005", password: "not-the-password" },
  });
  refused("sign-in with a wrong password", wrongPassword, 401, "invalid_credentials");
  info("a wrong password is refused: 401 invalid_credentials");

  step(`find ${VILLAGE}, its bank and the rule ${RULE_CODE}`);
  const village = found(
    `village ${VILLAGE}`,
    (await admin.orgs()).find((org) => org.kind === "village" && org.name === VILLAGE),
  );
  const bank = found(`bank of ${VILLAGE}`, (await admin.banks()).find((b) => b.org_id === village.id));
  const rule = found(
    `rule ${RULE_CODE}`,
    (await villageAdmin.rules(bank.id)).find((r) => r.code === RULE_CODE),
  );
  info(`village org ${village.id} (${village.path}), bank ${bank.id} ${bank.name}, rule ${rule.id} ${rule.name}`);

  step("village admin picks a demo member with points (staff API)");
  let chosen: Schemas["MemberDetail"] | undefined;
  for await (const member of villageAdmin.members()) {
    if (member.status !== "active" || member.merged_into !== null || typeof member.phone !== "string") {
      continue;
    }
    const detail = await villageAdmin.member(member.id);
    const points = detail.wallets.find((w) => w.asset === "POINTS");
    if (points !== undefined && points.bank_id === bank.id && minor(points.balance) > 0n) {
      chosen = detail;
      break;
    }
  }
  const member = found("an active demo member with points", chosen);
  const maskedPhone = found(`phone of member ${member.id}`, member.phone ?? undefined);
  const phone = demoPhone(maskedPhone);
  const points0 = walletOf(member, "POINTS");
  const hours0 = walletOf(member, "HOURS");
  info(`member ${member.id} ${member.name}, card ${member.card_number}, phone ${maskedPhone}`);
  info(`staff view: POINTS ${points0.balance} (held ${points0.held}), HOURS ${hours0.balance}`);
  expectEqual("POINTS held before the cycle", points0.held, "0.00");

  step("volunteer signs in with WeChat: a bad code, then binding with phone and name");
  const app = new MemberApp(settings);
  const badCode = await app.api.POST("/api/v1/auth/wechat", { body: { code: "expired-code" } });
  refused("an invalid wx.login code", badCode, 401, "wechat_code_invalid");
  info("an invalid wx.login code is refused: 401 wechat_code_invalid (WeChat errcode 40029)");
  const openid = `o-cycle-${member.id}-${Date.now()}`;
  const first = await app.signIn(`code-${openid}`);
  if (first.status !== "binding_required") {
    throw new Mismatch(`first sign-in: expected binding_required, got ${first.status}`);
  }
  expectEqual("first sign-in status", first.status, "binding_required");
  const wrongName = await app.api.POST("/api/v1/auth/wechat/bind", {
    body: { binding_ticket: first.bindingTicket, phone, name: `${member.name}X` },
  });
  refused("bind with another name", wrongName, 422, "binding_refused");
  info("binding with the wrong name is refused: 422 binding_refused");
  const bound = await app.bind(first.bindingTicket, phone, member.name);
  expectEqual("bind status", bound.status, "signed_in");
  expectEqual("bound member_id", bound.status === "signed_in" ? bound.memberId : null, member.id);
  const relaunch = await app.signIn(`code-${openid}~relaunch`);
  expectEqual("next launch (a new wx.login code) signs straight in", relaunch.status, "signed_in");
  expectEqual("signed in member_id", relaunch.status === "signed_in" ? relaunch.memberId : null, member.id);
  const me0 = await app.me();
  expectEqual("GET /me id", me0.id, member.id);
  expectWallet("my POINTS", walletOf(me0, "POINTS"), {
    balance: points0.balance,
    held: "0.00",
    available: points0.balance,
  });
  expectEqual("my HOURS balance", walletOf(me0, "HOURS").balance, hours0.balance);

  step("organiser creates and publishes an activity running now");
  // Scans are accepted from `grace_minutes` before the start to `grace_minutes` after the end,
  // and settlement only after that; the service's clock cannot be moved. So the activity began
  // an hour ago, ends in ACTIVITY_SECONDS, and has no grace: check in and out now, correct the
  // check-in to the start (the volunteer "forgot to scan"), settle once it has ended.
  const now = Date.now();
  const startsAt = new Date(now - 60 * MINUTE).toISOString();
  const endsAt = new Date(now + ACTIVITY_SECONDS * 1000).toISOString();
  const draft = await organiser.createActivity({
    org_id: village.id,
    rule_id: rule.id,
    title: "河道清理（客户端示例）",
    description: "run-cycle.sh 创建的示例活动",
    category: "环境整治",
    address: "青山村河堤南段",
    starts_at: startsAt,
    ends_at: endsAt,
    grace_minutes: 0,
    award: {
      mode: "per_hour",
      points: POINTS_PER_HOUR,
      hours_unit_minutes: 30,
      hours_rounding: "down",
      min_presence_percent: 60,
      missing_checkout: "no_hours",
    },
  });
  expectEqual("created activity status", draft.status, "draft");
  expectEqual("activity bank", draft.bank_id, bank.id);
  const activity = await organiser.publish(draft.id);
  expectEqual("published activity status (inside its window)", activity.status, "ongoing");
  info(`activity ${activity.id}: ${activity.starts_at} – ${activity.ends_at}, ${activity.award.points} points/hour`);

  step("volunteer sees the activity in the mini-program");
  const listed = found(
    `activity ${activity.id} in GET /me/activities`,
    (await app.activities()).find((a) => a.id === activity.id),
  );
  expectEqual("listed status", listed.status, "ongoing");
  expectEqual("my sign-up (walk-ins welcome)", listed.my_signup ?? null, null);

  step("organiser shows the check-in QR code; the volunteer scans it");
  const checkInPng = await organiser.qrPng(activity.id, "check_in");
  const checkInUrl = decodeQrPng(checkInPng);
  info(`PNG ${checkInPng.length} bytes, zbarimg reads ${checkInUrl}`);
  expectThat(
    `the code is a ${QR_BASE_URL}/q/… URL`,
    checkInUrl.startsWith(`${QR_BASE_URL}/q/`),
    checkInUrl,
  );
  const payload = await organiser.qrPayload(activity.id, "check_in");
  expectEqual("qr payload purpose", payload.purpose, "check_in");
  expectEqual("qr payload kind", payload.kind, "dynamic");
  const checkedIn = await app.scan(checkInUrl, activity.id);
  expectEqual("check-in member", checkedIn.member_id, member.id);
  expectEqual("check-in method", checkedIn.checkin_method, "dynamic_qr");
  expectEqual("check-out so far", checkedIn.checkout_at ?? null, null);
  const twice = await app.api.POST("/api/v1/checkins", {
    body: { token: checkInUrl, activity_id: activity.id },
  });
  refused("a second check-in", twice, 409, "already_checked_in");
  info("scanning the check-in code again is refused: 409 already_checked_in");

  step("organiser shows the check-out QR code; the volunteer scans it");
  const checkOutUrl = decodeQrPng(await organiser.qrPng(activity.id, "check_out"));
  info(`zbarimg reads ${checkOutUrl}`);
  const checkedOut = await app.scan(checkOutUrl, activity.id);
  expectEqual("check-out method", checkedOut.checkout_method ?? null, "dynamic_qr");
  expectThat("checked out before the activity ends", Date.now() < Date.parse(activity.ends_at));

  step("organiser reads the attendance and corrects the check-in time");
  const [row, ...others] = await organiser.attendance(activity.id);
  expectEqual("attendances", others.length + (row === undefined ? 0 : 1), 1);
  const attendance = found("the attendance", row);
  expectEqual("expected points with a few seconds of presence", attendance.expected_points, "0.00");
  expectEqual("expected hours with a few seconds of presence", attendance.expected_hours, "0.00");
  const corrected = await organiser.correct(activity.id, member.id, {
    checkin_at: activity.starts_at,
    reason: "到场时签到码没扫上，组织者确认从开始就在场",
  });
  // Present from the start until the check-out: just over an hour of an activity of just over
  // an hour (≥ 60 %); hours in 30-minute steps, rounded down: 1.00 h × 12.50 points.
  expectEqual("expected hours after the correction", corrected.expected_hours, "1.00");
  expectEqual("expected points after the correction", corrected.expected_points, POINTS_PER_HOUR);
  expectThat("the correction is recorded", typeof corrected.corrected_by === "string");

  step("organiser settles the activity once it has ended");
  const early = await organiser.settle(activity.id);
  if (Date.now() < Date.parse(activity.ends_at)) {
    refused("settlement while the activity runs", early, 409, "not_finished");
    info("settling while it runs is refused: 409 not_finished");
  }
  let settlement: Schemas["Settlement"] | undefined = early.data;
  while (settlement === undefined) {
    const waitMs = Date.parse(activity.ends_at) - Date.now() + 250;
    info(`waiting ${Math.max(waitMs, 250)} ms for the activity to end`);
    await sleep(Math.max(waitMs, 250));
    const outcome = await organiser.settle(activity.id);
    if (outcome.data === undefined) {
      refused("settlement", outcome, 409, "not_finished");
      if (Date.now() > Date.parse(activity.ends_at) + 30_000) {
        throw new Mismatch("still not_finished 30 s after the end");
      }
    }
    settlement = outcome.data;
  }
  expectEqual("settlement status", settlement.status, "settled");
  expectEqual("attendances paid", settlement.settled, 1);
  expectEqual("points paid", settlement.points, POINTS_PER_HOUR);
  expectEqual("hours paid", settlement.hours, "1.00");
  expectEqual("activity status", (await organiser.activity(activity.id)).status, "settled");
  const again409 = await organiser.settle(activity.id);
  expectEqual("settling again pays nobody twice", ok("settle again", again409).points, POINTS_PER_HOUR);

  step("volunteer sees the points and hours");
  const points1 = add(points0.balance, POINTS_PER_HOUR);
  const hours1 = add(hours0.balance, "1.00");
  const me1 = await app.me();
  expectWallet("my POINTS", walletOf(me1, "POINTS"), { balance: points1, held: "0.00", available: points1 });
  expectEqual("my HOURS balance", walletOf(me1, "HOURS").balance, hours1);
  const [award] = (await app.statement("POINTS")).items;
  const awardLine = found("the newest POINTS statement line", award);
  expectEqual("statement kind", awardLine.kind, "award");
  expectEqual("statement amount", awardLine.amount, POINTS_PER_HOUR);
  expectEqual("statement balance_after", awardLine.balance_after ?? null, points1);
  expectEqual("statement origin", awardLine.origin ?? null, "checkin");
  expectEqual("statement reference", awardLine.reference ?? null, `activity:${activity.id}`);
  expectEqual("statement rule", awardLine.rule?.code ?? null, RULE_CODE);
  info(`memo: ${awardLine.memo}`);
  const [hoursLine] = (await app.statement("HOURS")).items;
  expectEqual("HOURS statement amount", hoursLine?.amount, "1.00");
  expectEqual("HOURS statement balance_after", hoursLine?.balance_after ?? null, hours1);

  step("volunteer orders in the points supermarket");
  const shop = found("a shop of my bank", (await app.shops()).find((s) => s.bank_id === bank.id));
  const offer = (await app.goods(shop.id))
    .filter((g) => g.available >= 2)
    .sort((a, b) => Number(minor(a.price) - minor(b.price)));
  const goods = found("goods on offer", offer[0]);
  const quantity = atLeast(points1, times(goods.price, 2)) ? 2 : 1;
  const total = times(goods.price, quantity);
  expectThat(`${quantity} × ${goods.name} (${goods.price}) is affordable`, atLeast(points1, total));
  const shelf0 = found("goods in the clerk's list", (await clerk.goods(shop.id)).find((g) => g.id === goods.id));
  const key = idempotencyKey();
  const placed = await app.placeOrder(shop.id, [{ goods_id: goods.id, quantity }], key);
  const order = placed.order;
  info(`order ${order.id} in ${shop.name}: ${quantity} × ${goods.name}, pickup code ${order.pickup_code}`);
  expectEqual("order status", order.status, "pending");
  expectEqual("order total_points", order.total_points, total);
  expectEqual("order first replay", placed.replayed, false);
  expectThat("pickup code is six digits", /^\d{6}$/.test(order.pickup_code), order.pickup_code);
  const retried = await app.placeOrder(shop.id, [{ goods_id: goods.id, quantity }], key);
  expectEqual("retry with the same Idempotency-Key returns the same order", retried.order.id, order.id);
  expectEqual("retry answers the same pickup code", retried.order.pickup_code, order.pickup_code);
  if (!retried.replayed) {
    // README: "a retry … returns the original result with `Idempotent-Replayed: true`".
    // POST /banks/{id}/entries and /awards do; POST /me/orders drops the flag (src/http/orders.rs).
    note("POST /me/orders: the replayed answer has no `Idempotent-Replayed: true` header");
  }
  const points2 = sub(points1, total);
  expectWallet("my POINTS with the order pending", await app.wallet("POINTS"), {
    balance: points1,
    held: total,
    available: points2,
  });
  const shelf1 = found("goods", (await clerk.goods(shop.id)).find((g) => g.id === goods.id));
  expectEqual("stock while pending", shelf1.stock, shelf0.stock);
  expectEqual("reserved while pending", shelf1.reserved, shelf0.reserved + quantity);
  expectEqual("available while pending", shelf1.available, shelf0.available - quantity);

  step("volunteer shows the pickup QR; clerk hands over the goods with the pickup code");
  // Staff cannot list shops (there is no GET /shops or GET /shops/{id}): the counter knows its
  // shop id from configuration; here it comes from the order.
  expectEqual("the order's shop", order.shop_id, shop.id);
  const pickupText = decodeQrPng(await app.pickupQrPng(order.id));
  expectEqual("the pickup QR encodes the order's pickup_token", pickupText, order.pickup_token);
  const pending = await clerk.shopOrders(shop.id, "pending");
  expectThat(`order ${order.id} is on the counter's pending list`, pending.some((o) => o.id === order.id));
  const report0 = await clerk.dayReport(shop.id);
  const pickup = ok("POST /shops/{shop_id}/pickups", await clerk.fulfil(shop.id, order.pickup_code));
  expectEqual("picked-up order status", pickup.order.status, "fulfilled");
  const entry = found("the redeem entry", pickup.entry ?? undefined);
  expectEqual("entry kind", entry.kind, "redeem");
  const myPosting = found(
    "the posting on my wallet",
    entry.postings.find((p) => p.account_id === points0.id),
  );
  expectEqual("posting on my wallet", myPosting.amount, sub("0.00", total));
  expectEqual("posting balance_after", myPosting.balance_after ?? null, points2);
  expectEqual(
    "entry postings sum to zero",
    entry.postings.reduce((sum, p) => sum + minor(p.amount), 0n) === 0n,
    true,
  );
  const secondScan = await clerk.fulfil(shop.id, pickupText);
  refused("a second scan of the pickup QR", secondScan, 409, "order_not_pending");
  info("scanning the pickup QR again is refused: 409 order_not_pending");
  // The six digits only name pending orders, so once handed over they are simply unknown.
  const secondCode = await clerk.fulfil(shop.id, order.pickup_code);
  refused("the pickup code a second time", secondCode, 422, "pickup_token_invalid");
  info("typing the pickup code again is refused: 422 pickup_token_invalid (not 409 order_not_pending)");
  const report1 = await clerk.dayReport(shop.id);
  expectEqual("day report orders", report1.orders, report0.orders + 1);
  expectEqual("day report points", report1.points, add(report0.points, total));
  const shelf2 = found("goods", (await clerk.goods(shop.id)).find((g) => g.id === goods.id));
  expectEqual("stock after pickup", shelf2.stock, shelf0.stock - quantity);
  expectEqual("reserved after pickup", shelf2.reserved, shelf0.reserved);

  step("volunteer's orders and statement");
  const mine = await app.order(order.id);
  expectEqual("my order status", mine.status, "fulfilled");
  expectEqual("my order entry", mine.entry_id ?? null, entry.id);
  expectWallet("my POINTS", await app.wallet("POINTS"), { balance: points2, held: "0.00", available: points2 });
  const statement = await app.statement("POINTS", 2);
  const [redeemLine, awardAgain] = statement.items;
  expectEqual("statement kind", redeemLine?.kind, "redeem");
  expectEqual("statement amount", redeemLine?.amount, sub("0.00", total));
  expectEqual("statement balance_after", redeemLine?.balance_after ?? null, points2);
  expectEqual("statement origin", redeemLine?.origin ?? null, "redemption");
  expectEqual("statement reference", redeemLine?.reference ?? null, `order:${order.id}`);
  expectEqual("line before it is the award", awardAgain?.entry_id, awardLine.entry_id);
  info(`memo: ${redeemLine?.memo ?? ""}`);
  const staffView = walletOf(await villageAdmin.member(member.id), "POINTS");
  expectEqual("staff view agrees", staffView.balance, points2);

  step("platform admin verifies the ledger of the bank");
  let report = await admin.verify(bank.id);
  for (let i = 0; i < 20 && report.unsealed_entries > 0; i += 1) {
    await sleep(500);
    report = await admin.verify(bank.id);
  }
  expectEqual("verify ok", report.ok, true);
  expectEqual("verify findings", report.findings.length, 0);
  expectEqual("unsealed entries after the sealer ran", report.unsealed_entries, 0);
  info(`entries ${report.entries_checked}, seals ${report.seals_checked}, head ${report.head_hash ?? "(none)"}`);

  await app.signOut();
  for (const text of notes) {
    console.log(`note: ${text}`);
  }
  console.log(
    `\ncycle passed: ${stepNumber} steps, ${checks} checks, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main().catch((error: unknown) => {
  if (error instanceof Mismatch) {
    console.error(`\nMISMATCH in step ${stepNumber}: ${error.message}`);
  } else if (error instanceof ApiProblem) {
    console.error(`\nAPI ERROR in step ${stepNumber}: ${error.message} (request ${error.requestId ?? "?"})`);
  } else {
    console.error(`\nFAILED in step ${stepNumber}:`, error);
  }
  process.exitCode = 1;
});
