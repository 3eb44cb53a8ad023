// Times in the person's own zone: `/api/me`'s `timezone` when the server gives one,
// else the device's. Event times travel as unix seconds; people type local times.

export function personZone(me) {
  return me?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// "Sun 2 Jun 2030, 09:00 CEST"-style text of a unix time, in `zone`.
// A zone this browser does not know (its zone data is older than the server's) reads as UTC.
export function whenText(unix, zone) {
  const options = { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit",
    minute: "2-digit", timeZoneName: "short" };
  let format;
  try {
    format = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: zone });
  } catch {
    format = new Intl.DateTimeFormat("en-GB", { ...options, timeZone: "UTC" });
  }
  return format.format(new Date(unix * 1000));
}

// The wall-clock fields of a moment in `zone`, as a UTC timestamp in milliseconds.
function wallClock(ms, zone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
    .formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
}

// "2030-06-02T09:00" (an <input type=datetime-local>) read in `zone` → unix seconds, or null.
// The zone's offset is found by asking what the wall clock says at a guess, twice, so a
// time next to a daylight-saving change lands right too.
export function fromLocalInput(text, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(text || "");
  if (!m) return null;
  const wanted = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let guess = wanted;
  for (let i = 0; i < 2; i++) guess += wanted - wallClock(guess, zone);
  return Math.floor(guess / 1000);
}
