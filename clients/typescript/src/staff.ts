// The staff side the cycle needs: sign-in, finding the village and a member, running an
// activity, the supermarket counter and the ledger check. Each method is one typed call.

import { createPointsBankClient, ok, StaticToken } from "./api.js";
import type { ClientSettings, PointsBankClient, Schemas } from "./api.js";
import type { OrderStatus } from "./member.js";

export type QrPurpose = "check_in" | "check_out";
export type QrKind = "dynamic" | "poster";

export class StaffConsole {
  readonly api: PointsBankClient;
  private readonly tokens = new StaticToken();

  constructor(settings: Omit<ClientSettings, "tokens">) {
    this.api = createPointsBankClient({ ...settings, tokens: this.tokens });
  }

  async signIn(phone: string, password: string): Promise<Schemas["TokenResponse"]> {
    const tokens = ok(
      "POST /auth/login",
      await this.api.POST("/api/v1/auth/login", { body: { phone, password } }),
    );
    this.tokens.set(tokens.access_token);
    return tokens;
  }

  async banks(): Promise<Schemas["Bank"][]> {
    return ok("GET /banks", await this.api.GET("/api/v1/banks"));
  }

  async orgs(): Promise<Schemas["Org"][]> {
    return ok("GET /orgs", await this.api.GET("/api/v1/orgs"));
  }

  async rules(bankId: number): Promise<Schemas["Rule"][]> {
    return ok(
      `GET /banks/${bankId}/rules`,
      await this.api.GET("/api/v1/banks/{bank_id}/rules", { params: { path: { bank_id: bankId } } }),
    );
  }

  /** Every member in scope, page by page. */
  async *members(): AsyncGenerator<Schemas["Member"]> {
    let cursor: string | undefined;
    do {
      const page: Schemas["MemberPage"] = ok(
        "GET /members",
        await this.api.GET("/api/v1/members", { params: { query: { cursor, limit: 200 } } }),
      );
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  async member(memberId: number): Promise<Schemas["MemberDetail"]> {
    return ok(
      `GET /members/${memberId}`,
      await this.api.GET("/api/v1/members/{member_id}", {
        params: { path: { member_id: memberId } },
      }),
    );
  }

  async createActivity(body: Schemas["ActivityBody"]): Promise<Schemas["Activity"]> {
    return ok("POST /activities", await this.api.POST("/api/v1/activities", { body }));
  }

  async publish(activityId: number): Promise<Schemas["Activity"]> {
    return ok(
      `POST /activities/${activityId}/publish`,
      await this.api.POST("/api/v1/activities/{activity_id}/publish", {
        params: { path: { activity_id: activityId } },
      }),
    );
  }

  async activity(activityId: number): Promise<Schemas["Activity"]> {
    return ok(
      `GET /activities/${activityId}`,
      await this.api.GET("/api/v1/activities/{activity_id}", {
        params: { path: { activity_id: activityId } },
      }),
    );
  }

  /**
   * The activity's QR code for the organiser's screen, in PNG bytes. The contract types this
   * body `number[]` (next to `string` for SVG and `QrPayload` for JSON, one union for all three),
   * so it is read with `parseAs: "arrayBuffer"` and its content type checked here.
   */
  async qrPng(activityId: number, purpose: QrPurpose, kind: QrKind = "dynamic"): Promise<Uint8Array> {
    const outcome = await this.api.GET("/api/v1/activities/{activity_id}/qr", {
      params: { path: { activity_id: activityId }, query: { kind, purpose, format: "png" } },
      parseAs: "arrayBuffer",
    });
    const body = ok(`GET /activities/${activityId}/qr?purpose=${purpose}&format=png`, outcome);
    const type = outcome.response.headers.get("Content-Type");
    if (type !== "image/png") {
      throw new Error(`the QR code came back in ${type ?? "no content type"}, not image/png`);
    }
    return new Uint8Array(body);
  }

  /** The same code's payload: the URL it encodes and until when it is valid. */
  async qrPayload(activityId: number, purpose: QrPurpose): Promise<Schemas["QrPayload"]> {
    return ok(
      `GET /activities/${activityId}/qr/payload?purpose=${purpose}`,
      await this.api.GET("/api/v1/activities/{activity_id}/qr/payload", {
        params: { path: { activity_id: activityId }, query: { purpose } },
      }),
    );
  }

  async attendance(activityId: number): Promise<Schemas["Attendance"][]> {
    return ok(
      `GET /activities/${activityId}/attendance`,
      await this.api.GET("/api/v1/activities/{activity_id}/attendance", {
        params: { path: { activity_id: activityId } },
      }),
    );
  }

  async correct(
    activityId: number,
    memberId: number,
    body: Schemas["CorrectionBody"],
  ): Promise<Schemas["Attendance"]> {
    return ok(
      `POST /activities/${activityId}/attendance/${memberId}/correction`,
      await this.api.POST("/api/v1/activities/{activity_id}/attendance/{member_id}/correction", {
        params: { path: { activity_id: activityId, member_id: memberId } },
        body,
      }),
    );
  }

  /** The raw outcome: the caller decides what a 409 `not_finished` means. */
  settle(activityId: number) {
    return this.api.POST("/api/v1/activities/{activity_id}/settlement", {
      params: { path: { activity_id: activityId } },
    });
  }

  async goods(shopId: number): Promise<Schemas["Goods"][]> {
    return ok(
      `GET /shops/${shopId}/goods`,
      await this.api.GET("/api/v1/shops/{shop_id}/goods", { params: { path: { shop_id: shopId } } }),
    );
  }

  async shopOrders(shopId: number, status?: OrderStatus): Promise<Schemas["Order"][]> {
    const items: Schemas["Order"][] = [];
    let cursor: string | undefined;
    do {
      const page: Schemas["OrderPage"] = ok(
        `GET /shops/${shopId}/orders`,
        await this.api.GET("/api/v1/shops/{shop_id}/orders", {
          params: { path: { shop_id: shopId }, query: { status, cursor, limit: 200 } },
        }),
      );
      items.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return items;
  }

  /** The counter: the scanned pickup QR, or the six digits the member reads out. */
  fulfil(shopId: number, pickup: string) {
    return this.api.POST("/api/v1/shops/{shop_id}/pickups", {
      params: { path: { shop_id: shopId } },
      body: { pickup },
    });
  }

  async dayReport(shopId: number): Promise<Schemas["DayReport"]> {
    return ok(
      `GET /shops/${shopId}/day-report`,
      await this.api.GET("/api/v1/shops/{shop_id}/day-report", {
        params: { path: { shop_id: shopId } },
      }),
    );
  }

  async verify(bankId: number): Promise<Schemas["VerifyReport"]> {
    return ok(
      `GET /banks/${bankId}/verify`,
      await this.api.GET("/api/v1/banks/{bank_id}/verify", { params: { path: { bank_id: bankId } } }),
    );
  }
}
