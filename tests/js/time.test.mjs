// Local times in a named zone (gancio_like/app_shell/js/time.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromLocalInput, personZone, whenText } from "../../gancio_like/app_shell/js/time.js";

test("a local time in a zone becomes the right instant, summer and winter", () => {
  assert.equal(fromLocalInput("2030-06-02T09:00", "Europe/Paris"), Date.UTC(2030, 5, 2, 7, 0) / 1000);
  assert.equal(fromLocalInput("2030-01-15T09:00", "Europe/Paris"), Date.UTC(2030, 0, 15, 8, 0) / 1000);
  assert.equal(fromLocalInput("2030-06-02T09:00", "America/New_York"), Date.UTC(2030, 5, 2, 13, 0) / 1000);
  assert.equal(fromLocalInput("2030-06-02T09:00", "Asia/Kolkata"), Date.UTC(2030, 5, 2, 3, 30) / 1000);
  assert.equal(fromLocalInput("2030-06-02T09:00", "UTC"), Date.UTC(2030, 5, 2, 9, 0) / 1000);
});

test("next to a daylight-saving change", () => {
  // Europe/Paris goes from +01 to +02 at 02:00 on 31 March 2030.
  assert.equal(fromLocalInput("2030-03-31T01:30", "Europe/Paris"), Date.UTC(2030, 2, 31, 0, 30) / 1000);
  assert.equal(fromLocalInput("2030-03-31T03:30", "Europe/Paris"), Date.UTC(2030, 2, 31, 1, 30) / 1000);
});

test("what is not a datetime-local value is null", () => {
  for (const bad of ["", "2030-06-02", "tomorrow", "2030-06-02T9:00", null, undefined]) {
    assert.equal(fromLocalInput(bad, "UTC"), null);
  }
});

test("the shown time names the zone", () => {
  const text = whenText(Date.UTC(2030, 5, 2, 7, 0) / 1000, "Europe/Paris");
  assert.match(text, /2 Jun 2030/);
  assert.match(text, /09:00/);
  assert.match(text, /CEST|GMT\+2/);
});

test("a zone the browser does not know reads as UTC", () => {
  assert.match(whenText(Date.UTC(2030, 5, 2, 7, 0) / 1000, "Mars/Olympus_Mons"), /07:00 UTC/);
});

test("the person's zone: the server's, else the device's", () => {
  assert.equal(personZone({ timezone: "Asia/Tokyo" }), "Asia/Tokyo");
  assert.equal(personZone({ timezone: "" }), Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(personZone(undefined), Intl.DateTimeFormat().resolvedOptions().timeZone);
});
