/**
 * The date of a Unix `ls -l` line as the printer's vsFTPd writes it (basic-ftp keeps it only as raw text):
 * `Nov 30 07:59` for files of the last six months, `Nov 30  2025` for older ones. vsFTPd writes UTC unless
 * told otherwise, and printers do not tell it.
 */
const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** How far ahead of our clock a printer's clock may run before a yearless date is read as last year's. */
const clockSkewMs = 24 * 3600 * 1000;

export function parseListDate(raw: string, now: Date): Date | undefined {
  const match = /^([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{1,2}):(\d{2})|(\d{4}))$/.exec(raw.trim());
  if (!match) return undefined;
  const [, monthName = '', dayText, hourText, minuteText, yearText] = match;
  const month = months.indexOf(monthName.toLowerCase());
  const day = Number(dayText);
  if (month < 0 || day < 1 || day > 31) return undefined;
  if (yearText !== undefined) return new Date(Date.UTC(Number(yearText), month, day));
  const hour = Number(hourText);
  const minute = Number(minuteText);
  if (hour > 23 || minute > 59) return undefined;
  // A time instead of a year means "within the last six months": this year, unless that is still ahead.
  const thisYear = Date.UTC(now.getUTCFullYear(), month, day, hour, minute);
  return new Date(
    thisYear > now.getTime() + clockSkewMs ? Date.UTC(now.getUTCFullYear() - 1, month, day, hour, minute) : thisYear,
  );
}
