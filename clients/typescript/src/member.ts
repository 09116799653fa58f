// The volunteer's side: what a WeChat mini-program does with the typed client. A page calls
// these methods; the mini-program supplies the `wx.login()` code, the scanned text from
// `wx.scanCode()`, and a `fetch` over `wx.request` (README.md).

import {
  createPointsBankClient,
  idempotencyKey,
  ok,
  okEmpty,
  StaticToken,
} from "./api.js";
import type { ClientSettings, PointsBankClient, Schemas } from "./api.js";

export type Asset = "POINTS" | "HOURS";
export type OrderStatus = "pending" | "fulfilled" | "cancelled" | "expired";

/**
 * `MemberSession` in the contract is one object whose fields are all optional and nullable,
 * with `status` a plain string. This is the union it stands for, checked once on arrival.
 */
export type SignIn =
  | {
      status: "signed_in";
      memberId: number;
      accessToken: string;
      refreshToken: string;
      expiresIn: number;
    }
  | { status: "binding_required"; bindingTicket: string };

export function readSession(session: Schemas["MemberSession"]): SignIn {
  // The contract's discriminated union: `status` narrows it, so no field needs checking.
  switch (session.status) {
    case "signed_in":
      return {
        status: session.status,
        memberId: session.member_id,
        accessToken: session.access_token,
        refreshToken: session.refresh_token,
        expiresIn: session.expires_in,
      };
    case "binding_required":
      return { status: session.status, bindingTicket: session.binding_ticket };
  }
}

export class MemberApp {
  readonly api: PointsBankClient;
  private readonly tokens = new StaticToken();
  private refreshToken: string | undefined;
  memberId: number | undefined;

  constructor(settings: Omit<ClientSettings, "tokens">) {
    this.api = createPointsBankClient({ ...settings, tokens: this.tokens });
  }

  private signedIn(signIn: SignIn): SignIn {
    if (signIn.status === "signed_in") {
      this.tokens.set(signIn.accessToken);
      this.refreshToken = signIn.refreshToken;
      this.memberId = signIn.memberId;
    }
    return signIn;
  }

  /** App launch: send the `wx.login()` code. */
  async signIn(wxLoginCode: string): Promise<SignIn> {
    const session = ok(
      "POST /auth/wechat",
      await this.api.POST("/api/v1/auth/wechat", { body: { code: wxLoginCode } }),
    );
    return this.signedIn(readSession(session));
  }

  /** First launch only: link this WeChat user to the member the village registered. */
  async bind(bindingTicket: string, phone: string, name: string): Promise<SignIn> {
    const session = ok(
      "POST /auth/wechat/bind",
      await this.api.POST("/api/v1/auth/wechat/bind", {
        body: { binding_ticket: bindingTicket, phone, name },
      }),
    );
    return this.signedIn(readSession(session));
  }

  /** Every 15 minutes (or on a 401): spend the refresh token for new tokens. */
  async refresh(): Promise<SignIn> {
    const refreshToken = this.refreshToken;
    if (refreshToken === undefined) {
      throw new Error("not signed in");
    }
    const session = ok(
      "POST /auth/wechat/refresh",
      await this.api.POST("/api/v1/auth/wechat/refresh", {
        body: { refresh_token: refreshToken },
      }),
    );
    return this.signedIn(readSession(session));
  }

  async signOut(): Promise<void> {
    const refreshToken = this.refreshToken;
    if (refreshToken !== undefined) {
      okEmpty(
        "POST /auth/wechat/logout",
        await this.api.POST("/api/v1/auth/wechat/logout", {
          body: { refresh_token: refreshToken },
        }),
      );
    }
    this.tokens.set(undefined);
    this.refreshToken = undefined;
  }

  async me(): Promise<Schemas["MemberDetail"]> {
    return ok("GET /me", await this.api.GET("/api/v1/me"));
  }

  async wallet(asset: Asset): Promise<Schemas["Account"]> {
    const me = await this.me();
    const wallet = me.wallets.find((w) => w.asset === asset);
    if (wallet === undefined) {
      throw new Error(`member ${me.id} has no ${asset} wallet`);
    }
    return wallet;
  }

  /** The first page of my statement, newest first. */
  async statement(asset: Asset, limit = 20): Promise<Schemas["Statement"]> {
    return ok(
      `GET /me/statement?asset=${asset}`,
      await this.api.GET("/api/v1/me/statement", { params: { query: { asset, limit } } }),
    );
  }

  /** The activity list page: published activities of my bank that have not ended. */
  async activities(): Promise<Schemas["MemberActivity"][]> {
    return ok("GET /me/activities", await this.api.GET("/api/v1/me/activities"));
  }

  /** After `wx.scanCode()`: send what was scanned (the URL, or just the token). */
  async scan(scanned: string, activityId?: number): Promise<Schemas["Attendance"]> {
    return ok(
      "POST /checkins",
      await this.api.POST("/api/v1/checkins", {
        body: { token: scanned, activity_id: activityId ?? null },
      }),
    );
  }

  async shops(): Promise<Schemas["Shop"][]> {
    return ok("GET /me/shops", await this.api.GET("/api/v1/me/shops"));
  }

  async goods(shopId: number): Promise<Schemas["Goods"][]> {
    return ok(
      `GET /me/shops/${shopId}/goods`,
      await this.api.GET("/api/v1/me/shops/{shop_id}/goods", {
        params: { path: { shop_id: shopId } },
      }),
    );
  }

  /**
   * Places an order. Pass the same `key` again to retry the same tap (after a timeout): the
   * service answers with the original order instead of ordering twice.
   */
  async placeOrder(
    shopId: number,
    lines: Schemas["OrderLineBody"][],
    key: string = idempotencyKey(),
  ): Promise<{ order: Schemas["Order"]; replayed: boolean }> {
    const outcome = await this.api.POST("/api/v1/me/orders", {
      params: { header: { "Idempotency-Key": key } },
      body: { shop_id: shopId, lines },
    });
    const order = ok("POST /me/orders", outcome);
    return { order, replayed: outcome.response.headers.get("Idempotent-Replayed") === "true" };
  }

  async orders(status?: OrderStatus): Promise<Schemas["Order"][]> {
    const items: Schemas["Order"][] = [];
    let cursor: string | undefined;
    do {
      const page: Schemas["OrderPage"] = ok(
        "GET /me/orders",
        await this.api.GET("/api/v1/me/orders", {
          params: { query: { status, cursor, limit: 200 } },
        }),
      );
      items.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return items;
  }

  /**
   * There is no `GET /me/orders/{order_id}`: one order is found by paging through my orders.
   */
  async order(orderId: number): Promise<Schemas["Order"]> {
    const found = (await this.orders()).find((order) => order.id === orderId);
    if (found === undefined) {
      throw new Error(`order ${orderId} is not among my orders`);
    }
    return found;
  }

  /** The pickup QR code to show at the counter (PNG bytes). */
  async pickupQrPng(orderId: number): Promise<Uint8Array> {
    const outcome = await this.api.GET("/api/v1/me/orders/{order_id}/pickup-qr", {
      params: { path: { order_id: orderId }, query: { format: "png" } },
      parseAs: "arrayBuffer",
    });
    return new Uint8Array(ok(`GET /me/orders/${orderId}/pickup-qr`, outcome));
  }
}
