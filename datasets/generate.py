"""Generate the bundled demo export: a synthetic but realistic help-desk ticket export.

    python datasets/generate.py            # writes datasets/helpdesk_tickets.csv.gz (6,000 tickets)

Deterministic (seed 7). Every ticket has an id, created_at (12 months), channel, subject, body (sometimes
HTML, with a quoted earlier e-mail or a signature), assignment_group, and three labels: category (14),
priority (P1-P4) and tier (L1-L3). It is made hard on purpose, so demo numbers are not flattering:
categories share vocabulary (access problems appear under password, VPN, account and e-mail), some tickets
are terse ("not working since this morning"), words carry typos, priority depends on cues in the text plus
noise, and 6% of labels are flipped to a plausible neighbour. It is for demos and tests; real accuracy is
measured on ../shared/datasets/ (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

SEED = 7
OUT = Path(__file__).resolve().parent / "helpdesk_tickets.csv.gz"

# category: (tier, base priority weights P1..P4, subjects, body sentences, neighbours for label noise)
CATEGORIES: dict[str, tuple[str, list[int], list[str], list[str], list[str]]] = {
    "password_reset": (
        "L1",
        [0, 1, 6, 3],
        [
            "password reset",
            "forgot my password",
            "locked out",
            "password expired",
            "can't log in",
            "account locked after password change",
        ],
        [
            "I forgot my password and now I am locked out of {system}.",
            "My password expired this morning and the reset link does not work.",
            "After changing my password I can't log in to {system} any more.",
            "I typed the wrong password too many times and the account is locked.",
            "Please reset my password for {system}, the self-service page gives an error.",
        ],
        ["account_access"],
    ),
    "account_access": (
        "L1",
        [0, 2, 6, 2],
        [
            "need access to {system}",
            "access request",
            "permission denied",
            "can't access shared folder",
            "new joiner account",
            "access removed",
        ],
        [
            "I need access to {system} for my new role in {team}.",
            "I get permission denied when opening the {team} folder on {system}.",
            "Please create an account for our new joiner starting Monday.",
            "My access to {system} was removed after the reorganisation, can you restore it?",
            "I can log in but can't access the reports in {system}.",
        ],
        ["password_reset", "security_incident"],
    ),
    "vpn": (
        "L2",
        [1, 3, 5, 1],
        [
            "vpn not connecting",
            "vpn drops",
            "remote access issue",
            "cannot connect from home",
            "vpn error 809",
            "slow vpn",
        ],
        [
            "The VPN client keeps disconnecting every few minutes when I work from home.",
            "I can't connect to the VPN, it says the server is unreachable.",
            "Since the update the VPN asks for my password again and again.",
            "Remote access works in the office but not from home.",
            "VPN is connected but I can't access {system}.",
        ],
        ["network", "password_reset"],
    ),
    "network": (
        "L2",
        [2, 4, 3, 1],
        [
            "no internet",
            "wifi down",
            "network slow",
            "cannot reach server",
            "ethernet port dead",
            "network outage {site}",
        ],
        [
            "The wifi on floor {floor} in {site} keeps dropping.",
            "Nobody in the {team} area has internet since this morning.",
            "The network is extremely slow, pages take minutes to load.",
            "I can't reach the file server, ping times out.",
            "The ethernet port at my desk is dead.",
        ],
        ["vpn", "hardware"],
    ),
    "email": (
        "L1",
        [0, 2, 6, 2],
        [
            "outlook not syncing",
            "email not received",
            "mailbox full",
            "can't send email",
            "shared mailbox",
            "calendar invites missing",
        ],
        [
            "Outlook stopped syncing and I don't get new emails.",
            "My mailbox is full and I can't send anything.",
            "Emails from {vendor} go to spam or never arrive.",
            "I need access to the {team} shared mailbox.",
            "Calendar invites are missing from my calendar since yesterday.",
        ],
        ["account_access", "software_bug"],
    ),
    "printer": (
        "L1",
        [0, 0, 4, 6],
        [
            "printer not working",
            "paper jam",
            "printer offline",
            "can't print",
            "scanner not sending",
            "toner empty",
        ],
        [
            "The printer on floor {floor} shows offline.",
            "Paper jam again on the big printer near {team}.",
            "I can't print from my laptop, the job stays in the queue.",
            "The scanner does not send scans to my email.",
            "Toner is empty on the colour printer in {site}.",
        ],
        ["hardware", "network"],
    ),
    "hardware": (
        "L1",
        [0, 2, 5, 3],
        [
            "laptop broken",
            "screen flickering",
            "keyboard not working",
            "new monitor request",
            "laptop very slow",
            "docking station",
        ],
        [
            "My laptop screen flickers and sometimes goes black.",
            "The keyboard of my laptop stopped working after a coffee accident.",
            "I would like a second monitor for my desk.",
            "My laptop is very slow and the fan is loud.",
            "The docking station does not detect my monitors.",
        ],
        ["software_install", "printer"],
    ),
    "software_install": (
        "L1",
        [0, 1, 5, 4],
        [
            "install request",
            "need {app} installed",
            "software licence",
            "update {app}",
            "uninstall software",
            "admin rights to install",
        ],
        [
            "Please install {app} on my laptop.",
            "I need a licence for {app} for the project.",
            "Can you update {app} to the latest version?",
            "I need admin rights to install a driver for my headset.",
            "The software centre fails to install {app}.",
        ],
        ["software_bug", "account_access"],
    ),
    "software_bug": (
        "L2",
        [1, 3, 5, 1],
        [
            "{app} crashes",
            "error in {system}",
            "bug in report",
            "application freezes",
            "wrong numbers in {system}",
            "{app} not working",
        ],
        [
            "{app} crashes every time I open a large file.",
            "{system} shows an error 500 when I save the form.",
            "The monthly report in {system} shows wrong totals.",
            "The application freezes after the last update.",
            "{app} is not working since this morning, it closes immediately.",
        ],
        ["software_install", "database"],
    ),
    "database": (
        "L3",
        [3, 4, 2, 1],
        [
            "database timeout",
            "query very slow",
            "replication lag",
            "db connection errors",
            "database disk full",
            "data missing in {system}",
        ],
        [
            "Queries on the {system} database time out since the nightly job.",
            "Replication lag on the reporting database is over an hour.",
            "The application gets connection refused from the database.",
            "The database disk is almost full and writes are failing.",
            "Records created yesterday are missing from {system}.",
        ],
        ["software_bug", "network"],
    ),
    "security_incident": (
        "L3",
        [5, 4, 1, 0],
        [
            "phishing email",
            "suspicious login",
            "virus detected",
            "account compromised",
            "lost laptop",
            "ransomware warning",
        ],
        [
            "I clicked a link in a suspicious email and entered my password.",
            "I got an alert about a login to my account from another country.",
            "The antivirus detected malware on my laptop.",
            "My work laptop was stolen from my car.",
            "A pop-up says my files are encrypted and asks for payment.",
        ],
        ["account_access", "password_reset"],
    ),
    "billing": (
        "L2",
        [0, 2, 5, 3],
        [
            "invoice wrong",
            "charged twice",
            "refund request",
            "billing question",
            "subscription renewal",
            "payment failed",
        ],
        [
            "Our invoice from {vendor} shows the wrong number of licences.",
            "We were charged twice for the same order.",
            "Please refund the cancelled subscription.",
            "The payment for the {app} renewal failed.",
            "Which cost centre should the {vendor} invoice go to?",
        ],
        ["procurement", "software_install"],
    ),
    "procurement": (
        "L1",
        [0, 1, 4, 5],
        [
            "purchase request",
            "order new laptop",
            "quote for equipment",
            "buy licences",
            "order headset",
            "purchase order status",
        ],
        [
            "Please order a new laptop for our new joiner in {team}.",
            "We need a quote for ten docking stations.",
            "I would like to buy {app} licences for the team.",
            "What is the status of purchase order {number}?",
            "Can I order a headset for calls?",
        ],
        ["billing", "hardware"],
    ),
    "hr_request": (
        "L1",
        [0, 1, 5, 4],
        [
            "payslip question",
            "holiday balance",
            "change bank details",
            "employment letter",
            "benefits enrolment",
            "leaver process",
        ],
        [
            "My payslip for last month shows the wrong overtime.",
            "How many days of holiday do I have left?",
            "I need a letter confirming my employment for a rental application.",
            "Please update my bank details for the salary.",
            "An employee in {team} leaves on Friday, what do we need to do?",
        ],
        ["account_access", "billing"],
    ),
}

SLOTS = {
    "system": [
        "SAP",
        "Salesforce",
        "the CRM",
        "the HR portal",
        "Jira",
        "the intranet",
        "the billing system",
        "SharePoint",
        "the data warehouse",
        "Workday",
    ],
    "app": [
        "Excel",
        "Teams",
        "Zoom",
        "Adobe Acrobat",
        "Visual Studio",
        "Tableau",
        "Power BI",
        "Chrome",
        "Slack",
    ],
    "team": ["finance", "sales", "marketing", "engineering", "support", "legal", "HR", "logistics"],
    "site": ["Berlin", "London", "Lyon", "Madrid", "the warehouse", "head office"],
    "vendor": ["Dell", "Microsoft", "Adobe", "a supplier", "our telecom provider"],
    "floor": ["1", "2", "3", "4", "5"],
}
TERSE = [
    "not working",
    "urgent help needed",
    "it is broken again",
    "same problem as last week",
    "please help",
    "error since this morning",
    "doesn't work",
    "issue",
]
URGENT = [
    "The whole team is blocked.",
    "This is urgent, customers are affected.",
    "Production is down.",
    "We have a deadline today.",
    "The CEO needs this for a board meeting.",
]
CALM = ["No rush.", "Whenever you have time.", "Not urgent.", "Low priority, just letting you know."]
OPENERS = ["Hi,", "Hello team,", "Dear IT,", "Hi support,", "", "", "Good morning,"]
SIGNATURES = [
    "Thanks,\n{name}",
    "Best regards,\n{name}\n{team} | ACME Corp",
    "Cheers\n{name}",
    "-- \n{name}\nSent from my phone",
    "Kind regards,\n{name}",
]
NAMES = ["Anna", "Ben", "Chloé", "David", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kofi", "Lena"]
PRIORITIES = ["P1", "P2", "P3", "P4"]
CHANNELS = ["email", "portal", "phone", "chat"]
GROUPS = {
    "L1": ["Service Desk", "Desktop Support"],
    "L2": ["Network Ops", "Application Support", "Finance Ops"],
    "L3": ["DBA Team", "Security Operations", "Platform Engineering"],
}


def typo(text: str, rng: random.Random, rate: float) -> str:
    """Swap, drop or double letters in some words."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) > 3 and rng.random() < rate:
            j = rng.randrange(1, len(word) - 1)
            kind = rng.random()
            if kind < 0.4:
                word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
            elif kind < 0.7:
                word = word[:j] + word[j + 1 :]
            else:
                word = word[:j] + word[j] + word[j:]
            words[i] = word
    return " ".join(words)


def fill(template: str, rng: random.Random) -> str:
    out = template
    for slot, values in SLOTS.items():
        while "{" + slot + "}" in out:
            out = out.replace("{" + slot + "}", rng.choice(values), 1)
    return out.replace("{number}", str(rng.randint(40000, 49999)))


def ticket(i: int, rng: random.Random, start: datetime) -> dict[str, str]:
    category = rng.choice(list(CATEGORIES))
    tier, weights, subjects, sentences, neighbours = CATEGORIES[category]
    priority_index = rng.choices(range(4), weights=weights)[0]
    subject = fill(rng.choice(subjects), rng)
    body = [fill(s, rng) for s in rng.sample(sentences, k=rng.choice([1, 1, 2, 2, 3]))]
    if rng.random() < 0.25:  # urgency cues move priority up, calm cues down
        body.append(rng.choice(URGENT))
        priority_index = max(0, priority_index - rng.choice([1, 1, 2]))
    elif rng.random() < 0.15:
        body.append(rng.choice(CALM))
        priority_index = min(3, priority_index + 1)
    if rng.random() < 0.10:  # terse tickets: the text alone barely says what is wrong
        subject, body = rng.choice(TERSE), [rng.choice(TERSE)] if rng.random() < 0.5 else []
    text = " ".join(body)
    name = rng.choice(NAMES)
    channel = rng.choices(CHANNELS, weights=[5, 3, 1, 1])[0]
    if channel == "email":
        text = f"{rng.choice(OPENERS)}\n{text}\n\n" + fill(rng.choice(SIGNATURES), rng).replace("{name}", name)
        if rng.random() < 0.2:
            text += f"\n\nOn Mon, {rng.choice(NAMES)} wrote:\n> Did you try restarting?\n> Regards"
        if rng.random() < 0.3:
            text = "<html><body>" + "".join(f"<p>{line}</p>" for line in text.split("\n")) + "</body></html>"
    text, subject = typo(text, rng, 0.04), typo(subject, rng, 0.04)
    if priority_index == 0 and category not in ("security_incident", "database") and rng.random() < 0.5:
        tier = "L2" if tier == "L1" else "L3"  # critical tickets go up a line
    if rng.random() < 0.06:  # label noise: a plausible neighbour, as real desks mislabel
        category = rng.choice(neighbours)
    if rng.random() < 0.06:
        priority_index = min(3, max(0, priority_index + rng.choice([-1, 1])))
    if rng.random() < 0.05:
        tier = rng.choice(["L1", "L2", "L3"])
    created = start + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
    return {
        "id": f"INC{100000 + i}",
        "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
        "channel": channel,
        "subject": subject,
        "body": text,
        "assignment_group": rng.choice(GROUPS[tier]),
        "category": category,
        "priority": PRIORITIES[priority_index],
        "tier": tier,
    }


def generate(n: int = 6000, seed: int = SEED) -> pd.DataFrame:
    """The synthetic export as a DataFrame, sorted by creation time."""
    rng = random.Random(seed)
    start = datetime(2025, 11, 1)
    rows = [ticket(i, rng, start) for i in range(n)]
    return pd.DataFrame(rows).sort_values("created_at", kind="stable").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    frame = generate(args.n, args.seed)
    frame.to_csv(args.out, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {len(frame)} tickets to {args.out}")


if __name__ == "__main__":
    main()
