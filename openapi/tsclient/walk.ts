// A purchase walk with a client generated from Bazaar's OpenAPI document
// (openapi-typescript for the types, openapi-fetch for the calls), against
// a running shop: `npx tsx walk.ts BASE_URL ADMIN_KEY`. It is type-checked
// with tsc first, so a call the document does not allow fails to compile.
import createClient from "openapi-fetch";
import type { paths } from "./schema";

const [base, adminKey] = process.argv.slice(2);
if (!base || !adminKey) {
  throw new Error("usage: tsx walk.ts BASE_URL ADMIN_KEY");
}

function check(ok: boolean, what: string): asserts ok {
  if (!ok) {
    throw new Error("walk failed: " + what);
  }
}

const admin = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${adminKey}` } });

const created = await admin.POST("/v1/products", {
  body: { sku: `MUG-TS-${Date.now()}`, name: "Blue mug", description: "350 ml", price: 1250, currency: "EUR" },
});
check(created.response.status === 201 && created.data !== undefined, `create a product: ${created.response.status}`);
const productId = created.data.id;

const stocked = await admin.PUT("/v1/inventory/{product_id}", {
  params: { path: { product_id: productId } },
  body: { on_hand: 10 },
});
check(stocked.response.status === 200, `stock it: ${stocked.response.status}`);

const key = await admin.POST("/v1/api-keys", { body: { role: "storefront" } });
check(key.data !== undefined, `a storefront key: ${key.response.status}`);
const shop = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${key.data.key}` } });

const card = (num: string) => ({ number: num, exp_month: 12, exp_year: new Date().getFullYear() + 3, cvc: "123" });
const paid = await shop.POST("/v1/payments", {
  body: { items: [{ product_id: productId, quantity: 2 }], card: card("4242424242424242"), email: "ada@example.com" },
});
check(paid.data !== undefined && paid.data.status === "succeeded", `pay: ${paid.response.status}`);
check(paid.data.amount === 2500, `the amount: ${paid.data.amount}`);

const declined = await shop.POST("/v1/payments", {
  body: { items: [{ product_id: productId, quantity: 1 }], card: card("4000000000000002"), email: "ada@example.com" },
});
check(declined.response.status === 402 && declined.error !== undefined, `a declined card: ${declined.response.status}`);
check(declined.error.code === "card_declined", `its code: ${declined.error.code}`);

const level = await shop.GET("/v1/inventory/{product_id}", { params: { path: { product_id: productId } } });
check(level.data !== undefined && level.data.on_hand === 8, `stock after: ${level.data?.on_hand}`);

console.log(`walked: ${paid.data.id} paid, one declined, ${level.data.on_hand} left`);
