#!/usr/bin/env python3
"""How long the portal takes to answer a form for a known and for an unknown address (account enumeration by timing).

Usage: bench/portal-timing.py PORTAL_URL KNOWN_EMAIL [reset|signup] [ROUNDS]
  Start `gatehouse demo` first; KNOWN_EMAIL is its "demo portal login" address. For "signup", turn emailVerification on
  first (PUT /admin/portal/settings {"emailVerification": true}): with it off, a new address's account is stored on the
  request, by design. Known and unknown requests alternate, each from a fresh session; the first 5 of each are warm-up.
Prints the median, 10th and 90th percentile of each, in ms. Loopback only; nothing is sent anywhere else.
"""
import http.cookiejar
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request


def submit(portal, form, fields):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(portal + form).read().decode()
    token = re.search(r'name="__RequestVerificationToken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({**fields, "__RequestVerificationToken": token}).encode()
    started = time.perf_counter()
    opener.open(portal + form, data).read()
    return (time.perf_counter() - started) * 1000


def main():
    portal, known = sys.argv[1].rstrip("/"), sys.argv[2]
    form = sys.argv[3] if len(sys.argv) > 3 else "reset"
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    if form == "reset":
        ask = lambda email: submit(portal, "/reset", {"email": email})
    else:
        ask = lambda email: submit(portal, "/signup", {"email": email, "title": "T", "password": "a long enough pass phrase"})
    times = {"known": [], "unknown": []}
    for i in range(rounds):
        times["known"].append(ask(known))
        times["unknown"].append(ask(f"nobody-{i}-{time.time_ns()}@example.com"))
    for name, values in times.items():
        values = sorted(values[5:])
        print(f"{form} {name}: median {statistics.median(values):.2f} ms, p10 {values[len(values) // 10]:.2f}, p90 {values[len(values) * 9 // 10]:.2f}")


if __name__ == "__main__":
    main()
