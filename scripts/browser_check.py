#!/usr/bin/env python3
"""The tutorial's step 6 in a real browser.

Opens http://<alb dns name>/<service> in headless Chromium (Debian's `chromium` driven through
`chromium-driver` by Selenium), saves a screenshot, asserts the page says "Hello from <service>"
with a task hostname, then reloads until a second hostname appears (the load balancer alternates
between the service's two tasks). Screenshots go to the directory given with --out.

Usage: browser_check.py --url http://ecs-alb-123.us-east-1.elb.localhost/ --out artifacts/screenshots
"""

import argparse
import os
import re
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

HOSTNAME = re.compile(r"ip-\d+-\d+-\d+-\d+\.ec2\.internal")


def browser(profile_dir: str) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    # The flags this machine needs: no sandbox as root, no GPU, and no background traffic to
    # Google's hosts (the network is closed and those lookups stall start-up).
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1024,700",
        f"--user-data-dir={profile_dir}",
    ):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(20)
    return driver


def check(driver: webdriver.Chrome, url: str, service: str, out: str) -> list:
    driver.get(url)
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = driver.find_element(By.TAG_NAME, "body").text
        if f"Hello from {service}" not in text:
            raise SystemExit(f"{url}: the page does not say 'Hello from {service}':\n{text}")
        match = HOSTNAME.search(text)
        if not match:
            raise SystemExit(f"{url}: no task hostname on the page:\n{text}")
        host = match.group(0)
        if host not in seen:
            seen.append(host)
            shot = os.path.join(out, f"{service}-{len(seen)}.png")
            driver.save_screenshot(shot)
            print(f"browser: {url} served by {host} (screenshot {shot})")
        if len(seen) >= 2:
            return seen
        driver.refresh()
    raise SystemExit(f"{url}: only {seen} answered within 60 s of reloading; expected two tasks")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="the load balancer's base URL, ending in /")
    ap.add_argument("--out", required=True, help="directory for the screenshots")
    ap.add_argument("--services", default="product-svc,user-svc")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="berth-chromium-") as profile:
        driver = browser(profile)
        try:
            for service in args.services.split(","):
                check(driver, args.url.rstrip("/") + "/" + service, service, args.out)
        finally:
            driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
