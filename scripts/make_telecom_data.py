#!/usr/bin/env python3
"""Generate eigendsl's own initial data for the telecom domain.

The output has the shape telecom.eig declares (top-level ``plans``, ``customers``,
``lines``, ``bills`` and ``devices`` lists, same field order, every amount and data figure
a float, the optional fields present as null). It starts with the hand-written entities
the domain's own tasks and tests name (plans P2001-P2005, customers C2001-C2004, lines
L2001-L2006, bills B2001-B2007, devices D2001-D2006), kept exactly and in their places,
and adds invented accounts after them:

* 120 customers, most with one to four lines; a few have no line yet (pending
  verification), and some have closed or suspended accounts.
* Every line is on one of the five plans and most have a device of their own (a phone,
  or a tablet on the tablet plan, now and then a watch or a router). Lines are active,
  suspended (by request, or for an overdue bill), waiting for activation, or closed;
  contracts run out before or after today (2025-02-25), and some lines have used up
  their data.
* Every account with lines has monthly bills for November to January whose plan charges
  are its lines' plans; the latest is paid, issued, overdue, disputed or awaiting payment
  (at most one bill per account awaits payment). Extra data bought this cycle is charged
  on the account's Draft bill, as refuel_data would charge it.

Today is fixed by the domain (2025-02-25), so dates are drawn around it. What the
customer's phone shows about its line (telecom.user_data.json) is derived from these
records by the domain, so that file needs no change.

Usage (Python 3.11, standard library only; output is deterministic):

    python scripts/make_telecom_data.py           # write domains/telecom.data.json
    python scripts/make_telecom_data.py --check   # exit 1 if the file is stale
"""

from __future__ import annotations

import datafile  # scripts/datafile.py: the shared write-or-check command line

import copy
import datetime as dt
import random
import sys
from pathlib import Path

SEED = 20250225
OUT = Path(__file__).resolve().parent.parent / "domains" / "telecom.data.json"
TODAY = dt.date(2025, 2, 25)

N_CUSTOMERS = 120

# ---------------------------------------------------------------- the hand-written entities, kept exactly

SEED_PLANS: list[dict] = [{'plan_id': 'P2001',
  'name': 'Starter 3GB',
  'data_limit_gb': 3.0,
  'price_per_month': 30.0,
  'data_refueling_price_per_gb': 6.0},
 {'plan_id': 'P2002',
  'name': 'Everyday 12GB',
  'data_limit_gb': 12.0,
  'price_per_month': 50.0,
  'data_refueling_price_per_gb': 3.0},
 {'plan_id': 'P2003',
  'name': 'Traveller 25GB',
  'data_limit_gb': 25.0,
  'price_per_month': 72.0,
  'data_refueling_price_per_gb': 2.5},
 {'plan_id': 'P2004',
  'name': 'Unlimited Max',
  'data_limit_gb': 200.0,
  'price_per_month': 95.0,
  'data_refueling_price_per_gb': 1.0},
 {'plan_id': 'P2005',
  'name': 'Tablet Data 8GB',
  'data_limit_gb': 8.0,
  'price_per_month': 22.0,
  'data_refueling_price_per_gb': 4.0}]

SEED_CUSTOMERS: list[dict] = [{'customer_id': 'C2001',
  'full_name': 'Maria Gonzalez',
  'date_of_birth': '1979-03-22',
  'email': 'maria.gonzalez@mailbox.example',
  'phone_number': '555-410-7001',
  'address': {'street': '48 Alder Court', 'city': 'Riverton', 'state': 'OR', 'zip_code': '97402'},
  'account_status': 'Active',
  'payment_methods': [{'method_type': 'Debit Card', 'account_number_last_4': '4821', 'expiration_date': '08/2027'}],
  'line_ids': ['L2001', 'L2002'],
  'bill_ids': ['B2001', 'B2002', 'B2003'],
  'created_at': '2023-06-02 09:15:00',
  'last_extension_date': None,
  'goodwill_credit_used_this_year': 0.0},
 {'customer_id': 'C2002',
  'full_name': 'Daniel Okafor',
  'date_of_birth': '1990-11-05',
  'email': 'd.okafor@inbox.example',
  'phone_number': '555-410-7003',
  'address': {'street': '9 Harbor View Rd', 'city': 'Port Selby', 'state': 'ME', 'zip_code': '04101'},
  'account_status': 'Suspended',
  'payment_methods': [{'method_type': 'Credit Card', 'account_number_last_4': '7730', 'expiration_date': '03/2026'},
                      {'method_type': 'PayPal', 'account_number_last_4': '0192', 'expiration_date': '12/2030'}],
  'line_ids': ['L2003'],
  'bill_ids': ['B2004', 'B2005'],
  'created_at': '2022-01-18 16:40:00',
  'last_extension_date': '2024-09-30',
  'goodwill_credit_used_this_year': 15.0},
 {'customer_id': 'C2003',
  'full_name': 'Priya Raman',
  'date_of_birth': '1986-07-14',
  'email': 'priya.raman@post.example',
  'phone_number': '555-410-7004',
  'address': {'street': '1207 Juniper Ave', 'city': 'Lakeside', 'state': 'MN', 'zip_code': '55401'},
  'account_status': 'Active',
  'payment_methods': [{'method_type': 'Credit Card',
                       'account_number_last_4': '5512',
                       'expiration_date': '11/2028'}],
  'line_ids': ['L2004', 'L2005', 'L2006'],
  'bill_ids': ['B2006', 'B2007'],
  'created_at': '2024-02-11 11:05:00',
  'last_extension_date': None,
  'goodwill_credit_used_this_year': 0.0},
 {'customer_id': 'C2004',
  'full_name': 'Henry Lindqvist',
  'date_of_birth': '1958-01-30',
  'email': 'h.lindqvist@home.example',
  'phone_number': '555-410-7099',
  'address': {'street': '3 Orchard Lane', 'city': 'Millbrook', 'state': 'VT', 'zip_code': '05401'},
  'account_status': 'Pending Verification',
  'payment_methods': [],
  'line_ids': [],
  'bill_ids': [],
  'created_at': '2025-02-20 13:50:00',
  'last_extension_date': None,
  'goodwill_credit_used_this_year': 0.0}]

SEED_LINES: list[dict] = [{'line_id': 'L2001',
  'phone_number': '555-410-7001',
  'status': 'Active',
  'plan_id': 'P2003',
  'device_id': 'D2001',
  'data_used_gb': 19.4,
  'data_refueling_gb': 0.0,
  'roaming_enabled': True,
  'contract_end_date': '2026-06-30',
  'last_plan_change_date': '2024-11-01',
  'last_sim_replacement_date': None,
  'suspension_start_date': None},
 {'line_id': 'L2002',
  'phone_number': '555-410-7002',
  'status': 'Active',
  'plan_id': 'P2001',
  'device_id': 'D2002',
  'data_used_gb': 2.9,
  'data_refueling_gb': 1.0,
  'roaming_enabled': False,
  'contract_end_date': '2025-09-30',
  'last_plan_change_date': None,
  'last_sim_replacement_date': '2024-08-12',
  'suspension_start_date': None},
 {'line_id': 'L2003',
  'phone_number': '555-410-7003',
  'status': 'Suspended',
  'plan_id': 'P2002',
  'device_id': 'D2003',
  'data_used_gb': 12.0,
  'data_refueling_gb': 0.0,
  'roaming_enabled': False,
  'contract_end_date': '2025-01-31',
  'last_plan_change_date': '2023-05-10',
  'last_sim_replacement_date': None,
  'suspension_start_date': '2025-02-03'},
 {'line_id': 'L2004',
  'phone_number': '555-410-7004',
  'status': 'Active',
  'plan_id': 'P2004',
  'device_id': 'D2004',
  'data_used_gb': 57.3,
  'data_refueling_gb': 0.0,
  'roaming_enabled': False,
  'contract_end_date': '2027-02-28',
  'last_plan_change_date': '2024-02-11',
  'last_sim_replacement_date': None,
  'suspension_start_date': None},
 {'line_id': 'L2005',
  'phone_number': '555-410-7005',
  'status': 'Pending Activation',
  'plan_id': 'P2002',
  'device_id': 'D2005',
  'data_used_gb': 0.0,
  'data_refueling_gb': 0.0,
  'roaming_enabled': False,
  'contract_end_date': None,
  'last_plan_change_date': None,
  'last_sim_replacement_date': None,
  'suspension_start_date': None},
 {'line_id': 'L2006',
  'phone_number': '555-410-7006',
  'status': 'Active',
  'plan_id': 'P2005',
  'device_id': 'D2006',
  'data_used_gb': 7.6,
  'data_refueling_gb': 2.0,
  'roaming_enabled': False,
  'contract_end_date': '2026-02-28',
  'last_plan_change_date': None,
  'last_sim_replacement_date': None,
  'suspension_start_date': None}]

SEED_BILLS: list[dict] = [{'bill_id': 'B2001',
  'customer_id': 'C2001',
  'period_start': '2024-12-01',
  'period_end': '2024-12-31',
  'issue_date': '2025-01-03',
  'total_due': 102.0,
  'due_date': '2025-01-17',
  'line_items': [{'description': 'Traveller 25GB - Line 555-410-7001',
                  'amount': 72.0,
                  'date': '2025-01-03',
                  'item_type': 'Plan Charge'},
                 {'description': 'Starter 3GB - Line 555-410-7002',
                  'amount': 30.0,
                  'date': '2025-01-03',
                  'item_type': 'Plan Charge'}],
  'status': 'Paid'},
 {'bill_id': 'B2002',
  'customer_id': 'C2001',
  'period_start': '2025-01-01',
  'period_end': '2025-01-31',
  'issue_date': '2025-02-03',
  'total_due': 114.5,
  'due_date': '2025-02-17',
  'line_items': [{'description': 'Traveller 25GB - Line 555-410-7001',
                  'amount': 72.0,
                  'date': '2025-02-03',
                  'item_type': 'Plan Charge'},
                 {'description': 'Starter 3GB - Line 555-410-7002',
                  'amount': 30.0,
                  'date': '2025-02-03',
                  'item_type': 'Plan Charge'},
                 {'description': 'International roaming - Line 555-410-7001',
                  'amount': 12.5,
                  'date': '2025-02-03',
                  'item_type': 'Charge'}],
  'status': 'Issued'},
 {'bill_id': 'B2003',
  'customer_id': 'C2001',
  'period_start': '2025-02-01',
  'period_end': '2025-02-28',
  'issue_date': '2025-03-03',
  'total_due': 6.0,
  'due_date': '2025-03-17',
  'line_items': [{'description': 'Data refueling: 1.0 GB at $6.0/GB',
                  'amount': 6.0,
                  'date': '2025-02-14',
                  'item_type': 'Charge'}],
  'status': 'Draft'},
 {'bill_id': 'B2004',
  'customer_id': 'C2002',
  'period_start': '2024-12-01',
  'period_end': '2024-12-31',
  'issue_date': '2025-01-02',
  'total_due': 58.0,
  'due_date': '2025-01-16',
  'line_items': [{'description': 'Everyday 12GB - Line 555-410-7003',
                  'amount': 50.0,
                  'date': '2025-01-02',
                  'item_type': 'Plan Charge'},
                 {'description': 'Late payment fee', 'amount': 8.0, 'date': '2025-01-20', 'item_type': 'Fee'}],
  'status': 'Overdue'},
 {'bill_id': 'B2005',
  'customer_id': 'C2002',
  'period_start': '2024-11-01',
  'period_end': '2024-11-30',
  'issue_date': '2024-12-02',
  'total_due': 40.0,
  'due_date': '2024-12-16',
  'line_items': [{'description': 'Everyday 12GB - Line 555-410-7003',
                  'amount': 50.0,
                  'date': '2024-12-02',
                  'item_type': 'Plan Charge'},
                 {'description': 'Loyalty credit', 'amount': -10.0, 'date': '2024-12-02', 'item_type': 'Credit'}],
  'status': 'Paid'},
 {'bill_id': 'B2006',
  'customer_id': 'C2003',
  'period_start': '2025-01-01',
  'period_end': '2025-01-31',
  'issue_date': '2025-02-04',
  'total_due': 117.0,
  'due_date': '2025-02-18',
  'line_items': [{'description': 'Unlimited Max - Line 555-410-7004',
                  'amount': 95.0,
                  'date': '2025-02-04',
                  'item_type': 'Plan Charge'},
                 {'description': 'Tablet Data 8GB - Line 555-410-7006',
                  'amount': 22.0,
                  'date': '2025-02-04',
                  'item_type': 'Plan Charge'}],
  'status': 'Awaiting Payment'},
 {'bill_id': 'B2007',
  'customer_id': 'C2003',
  'period_start': '2024-12-01',
  'period_end': '2024-12-31',
  'issue_date': '2025-01-04',
  'total_due': 117.0,
  'due_date': '2025-01-18',
  'line_items': [{'description': 'Unlimited Max - Line 555-410-7004',
                  'amount': 95.0,
                  'date': '2025-01-04',
                  'item_type': 'Plan Charge'},
                 {'description': 'Tablet Data 8GB - Line 555-410-7006',
                  'amount': 22.0,
                  'date': '2025-01-04',
                  'item_type': 'Plan Charge'}],
  'status': 'Disputed'}]

SEED_DEVICES: list[dict] = [{'device_id': 'D2001',
  'device_type': 'phone',
  'model': 'Aurora S9',
  'imei': '356938035643809',
  'is_esim_capable': True,
  'activated': True,
  'activation_date': '2024-11-01 10:12:00',
  'last_esim_transfer_date': '2024-11-01 10:20:00'},
 {'device_id': 'D2002',
  'device_type': 'phone',
  'model': 'Kestrel Mini 4',
  'imei': '490154203237518',
  'is_esim_capable': False,
  'activated': True,
  'activation_date': '2023-06-02 09:40:00',
  'last_esim_transfer_date': None},
 {'device_id': 'D2003',
  'device_type': 'phone',
  'model': 'Aurora S7',
  'imei': '353918058823346',
  'is_esim_capable': True,
  'activated': True,
  'activation_date': '2023-05-10 14:02:00',
  'last_esim_transfer_date': None},
 {'device_id': 'D2004',
  'device_type': 'phone',
  'model': 'Nimbus Pro 12',
  'imei': '354856072219843',
  'is_esim_capable': True,
  'activated': True,
  'activation_date': '2024-02-11 11:30:00',
  'last_esim_transfer_date': None},
 {'device_id': 'D2005',
  'device_type': 'watch',
  'model': 'Pulse Watch 2 LTE',
  'imei': None,
  'is_esim_capable': True,
  'activated': False,
  'activation_date': None,
  'last_esim_transfer_date': None},
 {'device_id': 'D2006',
  'device_type': 'tablet',
  'model': 'SlateTab 11',
  'imei': '358240051111110',
  'is_esim_capable': True,
  'activated': True,
  'activation_date': '2024-03-01 17:45:00',
  'last_esim_transfer_date': None}]

# ---------------------------------------------------------------- invented accounts

FIRST_NAMES = [
    "Amara", "Bruno", "Camila", "Dario", "Elif", "Felix", "Greta", "Hana", "Idris", "Jonas",
    "Kenji", "Leila", "Mateo", "Nadia", "Oskar", "Paulo", "Quinn", "Rosa", "Stefan", "Tariq",
    "Uma", "Viktor", "Wren", "Ximena", "Yosef", "Zara", "Nikhil", "Ingrid", "Tomas", "Aisha",
    "Beatriz", "Callum", "Delphine", "Emeka", "Farah", "Gustav", "Hiroko", "Ivana", "Joaquin", "Keziah",
]
LAST_NAMES = [
    "Abara", "Bergstrom", "Castillo", "Dubois", "Eriksen", "Fontaine", "Gallagher", "Haddad",
    "Iwasaki", "Jovanovic", "Kaur", "Mbeki", "Novak", "Petrov", "Quintero", "Ramirez", "Sato",
    "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zielinski", "Moreau", "Costa", "Bianchi",
    "Nakamura", "Achebe", "Brennan", "Cardoso", "Dalton", "Esposito", "Fischer", "Grunwald", "Holm",
]
MAIL_HOSTS = ["mailbox.example", "inbox.example", "post.example", "home.example", "webmail.example"]
STREETS = [
    "Alder Court", "Aspen Way", "Magnolia Boulevard", "Birch Road", "Harbor View Rd", "Orchard Lane",
    "Meadow Lane", "Quarry Road", "Sycamore Avenue", "Foxglove Drive", "Riverside Terrace",
    "Canal Street", "Beacon Street", "Mill Road", "Summit Avenue", "Juniper Ave", "Heron Drive",
]
# (city, state, first three digits of its zip codes)
CITIES = [
    ("Riverton", "OR", "974"), ("Port Selby", "ME", "041"), ("Lakeside", "MN", "554"),
    ("Millbrook", "VT", "054"), ("Cedar Falls", "IA", "506"), ("Granite Bay", "CA", "957"),
    ("Fairhaven", "MA", "027"), ("Stillwater", "OK", "740"), ("Brookfield", "WI", "530"),
    ("Elm Grove", "TX", "773"), ("Oakridge", "TN", "378"), ("Clearwater", "FL", "337"),
]
PHONE_MODELS = ["Aurora S7", "Aurora S9", "Kestrel Mini 4", "Kestrel 5", "Nimbus Pro 12", "Nimbus Lite 10", "Vega One"]
TABLET_MODELS = ["SlateTab 11", "SlateTab Mini", "Nimbus Tab 9"]
WATCH_MODELS = ["Pulse Watch 2 LTE", "Pulse Watch 3 LTE"]
ROUTER_MODELS = ["HomeLink 5G Hub", "HomeLink Mini"]
PLAN_BY_ID = {p["plan_id"]: p for p in SEED_PLANS}
PHONE_PLANS = ["P2001", "P2002", "P2003", "P2004"]
# The monthly bills each account with lines has: (period start, period end, issue day).
CYCLES = [
    (dt.date(2024, 11, 1), dt.date(2024, 11, 30), dt.date(2024, 12, 3)),
    (dt.date(2024, 12, 1), dt.date(2024, 12, 31), dt.date(2025, 1, 3)),
    (dt.date(2025, 1, 1), dt.date(2025, 1, 31), dt.date(2025, 2, 3)),
]
DRAFT_CYCLE = (dt.date(2025, 2, 1), dt.date(2025, 2, 28), dt.date(2025, 3, 3))


def day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def stamp(rng: random.Random, d: dt.date) -> str:
    return f"{d.isoformat()} {rng.randint(8, 19):02d}:{rng.choice([0, 5, 10, 15, 20, 30, 40, 45, 50]):02d}:00"


def month_end(d: dt.date) -> dt.date:
    nxt = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def imei(rng: random.Random, used: set[str]) -> str:
    """A 15-digit IMEI with its Luhn check digit, not used before."""
    while True:
        body = "35" + "".join(str(rng.randint(0, 9)) for _ in range(12))
        total = 0
        for i, ch in enumerate(reversed(body)):
            n = int(ch)
            if i % 2 == 0:
                n *= 2
                n = n - 9 if n > 9 else n
            total += n
        value = body + str((10 - total % 10) % 10)
        if value not in used:
            used.add(value)
            return value


class Numbers:
    """Phone numbers 555-XXX-XXXX, never repeated (nor one of the hand-written ones)."""

    def __init__(self, rng: random.Random, taken: set[str]):
        self.rng = rng
        self.used = set(taken)

    def new(self) -> str:
        while True:
            n = f"555-{self.rng.randint(200, 989)}-{self.rng.randint(1000, 9999)}"
            if n not in self.used:
                self.used.add(n)
                return n


def make_device(rng: random.Random, device_id: str, kind: str, activated_on: dt.date | None, imeis: set[str]) -> dict:
    model = rng.choice({"phone": PHONE_MODELS, "tablet": TABLET_MODELS, "watch": WATCH_MODELS, "router": ROUTER_MODELS}[kind])
    esim = kind in ("watch", "tablet") or rng.random() < 0.7
    transfer = None
    if activated_on is not None and esim and rng.random() < 0.2:
        transfer = stamp(rng, day(rng, activated_on, TODAY - dt.timedelta(days=1)))
    return {
        "device_id": device_id,
        "device_type": kind,
        "model": model,
        "imei": None if kind == "watch" and activated_on is None else imei(rng, imeis),
        "is_esim_capable": esim,
        "activated": activated_on is not None,
        "activation_date": None if activated_on is None else stamp(rng, activated_on),
        "last_esim_transfer_date": transfer,
    }


def generate() -> dict:
    rng = random.Random(SEED)
    plans = copy.deepcopy(SEED_PLANS)
    customers = copy.deepcopy(SEED_CUSTOMERS)
    lines = copy.deepcopy(SEED_LINES)
    bills = copy.deepcopy(SEED_BILLS)
    devices = copy.deepcopy(SEED_DEVICES)
    numbers = Numbers(rng, {c["phone_number"] for c in customers} | {ln["phone_number"] for ln in lines})
    imeis = {d["imei"] for d in devices if d["imei"]}
    names = {c["full_name"] for c in customers}
    next_line, next_device, next_bill = 2007, 2007, 3001

    for k in range(N_CUSTOMERS):
        customer_id = f"C{2005 + k}"
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if f"{first} {last}" not in names:
                break
        names.add(f"{first} {last}")
        created = day(rng, dt.date(2019, 1, 1), dt.date(2025, 1, 31))
        roll = rng.random()
        account_status = "Active"
        n_lines = rng.choices([1, 2, 3, 4], weights=[40, 32, 18, 10])[0]
        if roll < 0.04:
            account_status, n_lines = "Pending Verification", 0
            created = day(rng, dt.date(2025, 1, 15), dt.date(2025, 2, 24))
        elif roll < 0.07:
            account_status = "Closed"
        overdue = account_status == "Active" and rng.random() < 0.15
        if overdue and rng.random() < 0.5:
            account_status = "Suspended"

        # lines and their devices
        line_ids: list[str] = []
        account_lines: list[dict] = []
        for j in range(n_lines):
            line_id, number = f"L{next_line}", numbers.new()
            next_line += 1
            tablet = j > 0 and rng.random() < 0.15
            plan_id = "P2005" if tablet else rng.choice(PHONE_PLANS)
            plan = PLAN_BY_ID[plan_id]
            if account_status == "Closed":
                status = "Closed"
            elif overdue and j == 0:
                status = "Suspended"
            else:
                status = rng.choices(["Active", "Suspended", "Pending Activation"], weights=[84, 8, 8])[0]
            since = day(rng, created, TODAY - dt.timedelta(days=20))
            contract = None if rng.random() < 0.2 else day(rng, dt.date(2024, 9, 1), dt.date(2027, 12, 31))
            if status == "Pending Activation":
                contract = None
            used = 0.0
            refuel = 0.0
            if status in ("Active", "Suspended"):
                limit = plan["data_limit_gb"]
                if rng.random() < 0.25:  # used up: at or over the plan's data
                    used = round(rng.uniform(limit, limit * 1.15) if limit < 100 else rng.uniform(20, 150), 1)
                    used = max(used, limit) if limit < 100 else used
                else:
                    used = round(rng.uniform(0, min(limit, 150) * 0.95), 1)
                if status == "Active" and rng.random() < 0.12:
                    refuel = float(rng.choice([1, 2]))
            kind = "tablet" if tablet else rng.choices(["phone", "watch", "router"], weights=[90, 5, 5])[0]
            device_id = None
            if rng.random() < 0.95:
                device_id = f"D{next_device}"
                next_device += 1
                activated_on = None if status == "Pending Activation" else since
                devices.append(make_device(rng, device_id, kind, activated_on, imeis))
            line = {
                "line_id": line_id,
                "phone_number": number,
                "status": status,
                "plan_id": plan_id,
                "device_id": device_id,
                "data_used_gb": used,
                "data_refueling_gb": refuel,
                "roaming_enabled": status == "Active" and rng.random() < 0.25,
                "contract_end_date": None if contract is None else contract.isoformat(),
                "last_plan_change_date": None if rng.random() < 0.6 else day(rng, since, TODAY - dt.timedelta(days=1)).isoformat(),
                "last_sim_replacement_date": None if rng.random() < 0.8 else day(rng, since, TODAY - dt.timedelta(days=1)).isoformat(),
                "suspension_start_date": (
                    None if status != "Suspended" else day(rng, dt.date(2025, 2, 1) if overdue and j == 0 else dt.date(2024, 10, 1), dt.date(2025, 2, 24)).isoformat()
                ),
            }
            lines.append(line)
            account_lines.append(line)
            line_ids.append(line_id)

        # bills: three monthly bills, and a Draft one for extra data bought this cycle
        bill_ids: list[str] = []
        billed = [ln for ln in account_lines if ln["status"] != "Pending Activation"]
        if billed:
            first_cycle = rng.randint(0, 2)
            latest = rng.choices(["Paid", "Issued", "Awaiting Payment", "Disputed"], weights=[45, 35, 10, 10])[0]
            for c, (start, end, issued) in enumerate(CYCLES[first_cycle:], start=first_cycle):
                items = [
                    {"description": f"{PLAN_BY_ID[ln['plan_id']]['name']} - Line {ln['phone_number']}",
                     "amount": PLAN_BY_ID[ln["plan_id"]]["price_per_month"], "date": issued.isoformat(), "item_type": "Plan Charge"}
                    for ln in billed
                ]
                extra = rng.random()
                if extra < 0.12:
                    ln = rng.choice(billed)
                    items.append({"description": f"International roaming - Line {ln['phone_number']}",
                                  "amount": float(rng.choice([7.5, 12.5, 20.0, 32.5])), "date": issued.isoformat(), "item_type": "Charge"})
                elif extra < 0.2:
                    ln = rng.choice(billed)
                    gb = float(rng.choice([1, 2, 3]))
                    price = PLAN_BY_ID[ln["plan_id"]]["data_refueling_price_per_gb"]
                    items.append({"description": f"Data refueling: {gb} GB at ${price}/GB", "amount": gb * price,
                                  "date": issued.isoformat(), "item_type": "Charge"})
                elif extra < 0.26:
                    items.append({"description": "Loyalty credit", "amount": -float(rng.choice([5, 10, 15])),
                                  "date": issued.isoformat(), "item_type": "Credit"})
                if c < 2:
                    status = "Paid"
                elif account_status == "Closed":
                    status = "Paid"
                elif overdue:
                    status = "Overdue"
                    items.append({"description": "Late payment fee", "amount": 8.0, "date": TODAY.isoformat(), "item_type": "Fee"})
                else:
                    status = latest
                bill_id = f"B{next_bill}"
                next_bill += 1
                bills.append({
                    "bill_id": bill_id,
                    "customer_id": customer_id,
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                    "issue_date": issued.isoformat(),
                    "total_due": round(sum(i["amount"] for i in items), 2),
                    "due_date": (issued + dt.timedelta(days=14)).isoformat(),
                    "line_items": items,
                    "status": status,
                })
                bill_ids.append(bill_id)
            refuelled = [ln for ln in billed if ln["data_refueling_gb"] > 0]
            if refuelled:
                start, end, issued = DRAFT_CYCLE
                items = []
                for ln in refuelled:
                    price = PLAN_BY_ID[ln["plan_id"]]["data_refueling_price_per_gb"]
                    items.append({"description": f"Data refueling: {ln['data_refueling_gb']} GB at ${price}/GB",
                                  "amount": ln["data_refueling_gb"] * price, "date": issued.isoformat(), "item_type": "Charge"})
                bill_id = f"B{next_bill}"
                next_bill += 1
                bills.append({
                    "bill_id": bill_id, "customer_id": customer_id, "period_start": start.isoformat(),
                    "period_end": end.isoformat(), "issue_date": issued.isoformat(),
                    "total_due": round(sum(i["amount"] for i in items), 2),
                    "due_date": (issued + dt.timedelta(days=14)).isoformat(), "line_items": items, "status": "Draft",
                })
                bill_ids.append(bill_id)

        methods = []
        for _ in range(0 if n_lines == 0 else rng.choices([1, 2, 3], weights=[60, 30, 10])[0]):
            methods.append({
                "method_type": rng.choice(["Credit Card", "Debit Card", "PayPal"]),
                "account_number_last_4": f"{rng.randint(0, 9999):04d}",
                "expiration_date": f"{rng.randint(1, 12):02d}/{rng.randint(2025, 2031)}",
            })
        contact = account_lines[0]["phone_number"] if account_lines and rng.random() < 0.8 else numbers.new()
        host = rng.choice(MAIL_HOSTS)
        city, state, zip3 = rng.choice(CITIES)
        customers.append({
            "customer_id": customer_id,
            "full_name": f"{first} {last}",
            "date_of_birth": day(rng, dt.date(1948, 1, 1), dt.date(2005, 12, 31)).isoformat(),
            "email": f"{first.lower()}.{last.lower()}@{host}",
            "phone_number": contact,
            "address": {"street": f"{rng.randint(1, 2999)} {rng.choice(STREETS)}", "city": city, "state": state,
                        "zip_code": f"{zip3}{rng.randint(0, 99):02d}"},
            "account_status": account_status,
            "payment_methods": methods,
            "line_ids": line_ids,
            "bill_ids": bill_ids,
            "created_at": stamp(rng, created),
            "last_extension_date": None if rng.random() < 0.85 else day(rng, dt.date(2024, 1, 1), TODAY - dt.timedelta(days=1)).isoformat(),
            "goodwill_credit_used_this_year": 0.0 if rng.random() < 0.85 else float(rng.choice([5, 10, 15, 25])),
        })

    return {"plans": plans, "customers": customers, "lines": lines, "bills": bills, "devices": devices}


if __name__ == "__main__":
    sys.exit(datafile.run(OUT, generate, "Write domains/telecom.data.json, or check it is current."))
