// A client generated from the OpenAPI document drives a running server through a
// booking's life: register, log in, create an event, hold, confirm, see the tickets
// and check one in, book, cancel. The tickets and the public keys are written to
// TICKETS_OUT, where the offline verification example (docs/examples) checks them.
// `tsc` checks it against the generated types, so a document that drifts from what
// the scenario needs fails the build; the run checks the answers.

import { writeFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Problem = components["schemas"]["Problem"];

const base = required("BOXOFFICE_URL");
const organizerEmail = required("ORGANIZER_EMAIL");
const organizerPassword = required("ORGANIZER_PASSWORD");
const ticketsOut = required("TICKETS_OUT");

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`failed: ${what}`);
  console.log(`ok: ${what}`);
}

const anonymous = createClient<paths>({ baseUrl: base });

async function signIn(email: string, password: string) {
  const { data, response } = await anonymous.POST("/api/v1/auth/login", {
    body: { email, password },
  });
  check(response.status === 200 && data !== undefined, `${email} logs in`);
  check(data.token_type === "Bearer" && data.expires_in > 0, "the tokens are bearer tokens that expire");
  return createClient<paths>({
    baseUrl: base,
    headers: { Authorization: `Bearer ${data.access_token}` },
  });
}

async function main() {
  const email = `ts.client.${Date.now()}@example.org`;
  const registered = await anonymous.POST("/api/v1/auth/register", {
    body: { name: "TypeScript Client", email, password: "a long passphrase" },
  });
  check(registered.response.status === 201, "registration answers 201");
  check(registered.data?.role === "attendee", "a registration makes an attendee");

  const attendee = await signIn(email, "a long passphrase");
  const organizer = await signIn(organizerEmail, organizerPassword);

  const created = await organizer.POST("/api/v1/events", {
    body: {
      name: "Client Scenario",
      venue: "Hall T",
      starts_at: "2031-06-01T18:00:00Z",
      capacity: 10,
      ticket_types: [
        { name: "Standard", price_cents: 2500 },
        { name: "VIP", price_cents: 9000, quantity: 2 },
      ],
    },
  });
  const event = created.data;
  check(created.response.status === 201 && event !== undefined, "an organizer creates an event");
  check(created.response.headers.get("Location") === `/api/v1/events/${event.id}`, "Location names the event");
  const id = event.id;

  const held = await attendee.POST("/api/v1/events/{id}/holds", {
    params: { path: { id } },
    body: { quantity: 2 },
  });
  check(held.response.status === 201 && held.data !== undefined, "an attendee holds 2 seats");
  const confirmed = await attendee.POST("/api/v1/holds/{id}/confirm", {
    params: { path: { id: held.data.id } },
  });
  check(confirmed.data?.source === "hold" && confirmed.data.quantity === 2, "the hold becomes a booking");

  const tickets = await attendee.GET("/api/v1/bookings/{id}/tickets", {
    params: { path: { id: confirmed.data.id } },
  });
  const items = tickets.data?.items ?? [];
  check(items.length === 2 && items.every((t) => t.status === "valid"), "the booking has 2 valid tickets");
  const keys = await anonymous.GET("/api/v1/checkin/keys");
  check(keys.data?.keys.length === 1 && keys.data.keys[0]?.signing === true, "one public key verifies codes");
  const first = items[0];
  check(first !== undefined, "a first ticket");
  const scan = () =>
    organizer.POST("/api/v1/events/{id}/check-ins", {
      params: { path: { id } },
      body: { code: first.code },
    });
  const scanned = await scan();
  check(scanned.response.status === 200 && scanned.data?.check_in.ticket_id === first.id, "the organizer checks the ticket in");
  const rescanned = await scan();
  check(
    rescanned.response.status === 409 && rescanned.error?.code === "already_checked_in",
    "a second scan is 409 already_checked_in",
  );
  writeFileSync(ticketsOut, JSON.stringify({ keys: keys.data.keys, tickets: items }));

  const key = `scenario-${Date.now()}`;
  const book = () =>
    attendee.POST("/api/v1/events/{id}/bookings", {
      params: { path: { id }, header: { "Idempotency-Key": key } },
      body: { quantity: 3, on_sold_out: "fail", allow_partial: false },
    });
  const booked = await book();
  const booking = booked.data?.booking;
  check(booked.response.status === 201 && booking != null, "a direct booking of 3");
  const again = await book();
  check(again.data?.booking?.id === booking.id, "repeating it with the same Idempotency-Key books nothing new");

  const partly = await attendee.POST("/api/v1/bookings/{id}/cancel", {
    params: { path: { id: booking.id } },
    body: { quantity: 1 },
  });
  check(partly.data?.quantity === 2 && partly.data.status === "confirmed", "cancelling 1 of 3 leaves 2");
  const fully = await attendee.POST("/api/v1/bookings/{id}/cancel", {
    params: { path: { id: booking.id } },
  });
  check(fully.data?.status === "cancelled", "cancelling the rest cancels the booking");

  const read = await anonymous.GET("/api/v1/events/{id}", { params: { path: { id } } });
  check(read.data?.availability.sold === 2 && read.data.availability.available === 8, "the event shows 2 sold, 8 free");

  const refused = await attendee.POST("/api/v1/events/{id}/bookings", {
    params: { path: { id } },
    body: { quantity: 0 },
  });
  const problem: Problem | undefined = refused.error;
  check(refused.response.status === 422, "quantity 0 is refused with 422");
  check(refused.response.headers.get("content-type") === "application/problem+json", "errors are problem+json");
  check(problem?.code === "validation_failed" && problem.errors?.[0]?.field === "quantity", "the problem names the field");

  const mine = await attendee.GET("/api/v1/users/me/bookings", { params: { query: { limit: 10 } } });
  check(mine.data?.items.length === 2, "the attendee sees both bookings");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
