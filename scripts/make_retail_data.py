#!/usr/bin/env python3
"""Generate eigendsl's own initial data for the retail domain.

The output has exactly the shape of the tau2-bench retail database (top-level
``products``, ``users`` and ``orders`` maps keyed by id, same field order, same
JSON types: every price, amount and balance a float, the optional order fields
present as null), so the same tools run on either, but every value is invented
here: the catalogue and its prices, customers, addresses, payment methods and
orders.

Shape of the data:

* 50 products, each with 5 to 20 variants (a distinct combination of the
  product's options); most variants are available.
* 500 customers with one to four stored payment methods (credit cards, gift
  cards with whole-number balances, PayPal).
* 1000 orders of one to five items, each paid in one payment of the sum of its
  item prices. Pending orders have no shipment yet; processed, delivered and
  cancelled ones have one; cancelled orders carry a refund and a reason. Some
  orders ship to an address other than the customer's default one, and a few
  hold the same item twice.

Usage (Python 3.11, standard library only; output is deterministic):

    python scripts/make_retail_data.py           # write domains/retail.data.json
    python scripts/make_retail_data.py --check   # exit 1 if the file is stale
"""

from __future__ import annotations

import datafile  # scripts/datafile.py: the shared write-or-check command line

import itertools
import random
import sys
from pathlib import Path

SEED = 20240611
OUT = Path(__file__).resolve().parent.parent / "domains" / "retail.data.json"

N_USERS = 500
N_ORDERS = 1000

# name -> (price range of the product, {option: values})
CATALOGUE: list[tuple[str, tuple[float, float], dict[str, list[str]]]] = [
    ("Rain Jacket", (60, 140), {"size": ["XS", "S", "M", "L", "XL"], "color": ["olive", "navy", "yellow", "charcoal"], "hood": ["packable", "fixed"]}),
    ("Blender", (45, 220), {"capacity": ["0.6L", "1.2L", "1.8L"], "color": ["white", "black", "red"], "motor": ["600W", "1000W", "1500W"]}),
    ("Camping Tent", (90, 480), {"capacity": ["1 person", "2 person", "4 person", "6 person"], "season": ["3-season", "4-season"], "color": ["green", "orange", "grey"]}),
    ("Sleeping Bag", (40, 260), {"temperature rating": ["-10C", "0C", "10C"], "fill": ["down", "synthetic"], "length": ["regular", "long"]}),
    ("Stand Mixer", (180, 520), {"bowl size": ["3.5 qt", "5 qt", "6 qt"], "color": ["cream", "teal", "graphite", "scarlet"], "power": ["300W", "575W"]}),
    ("Toaster", (25, 110), {"slots": ["2", "4"], "color": ["white", "black", "copper"], "finish": ["matte", "brushed"]}),
    ("Air Fryer", (60, 230), {"capacity": ["3 qt", "5 qt", "8 qt"], "color": ["black", "white", "sage"], "display": ["dial", "touchscreen"]}),
    ("Rice Cooker", (30, 190), {"capacity": ["3 cups", "6 cups", "10 cups"], "color": ["white", "silver"], "function": ["basic", "multi-cook", "pressure"]}),
    ("Cast Iron Skillet", (20, 90), {"diameter": ["8 inch", "10 inch", "12 inch"], "pre-seasoned": ["yes", "no"], "handle": ["long", "loop"]}),
    ("Knife Block Set", (70, 420), {"pieces": ["6", "12", "15"], "steel": ["stainless", "carbon", "damascus"], "block": ["walnut", "bamboo", "acrylic"]}),
    ("Cutting Board", (15, 80), {"material": ["maple", "teak", "bamboo", "composite"], "size": ["small", "medium", "large"], "edge": ["juice groove", "flat"]}),
    ("Throw Blanket", (25, 120), {"material": ["wool", "fleece", "cotton knit"], "color": ["mustard", "slate", "rose", "ivory"], "size": ["50x60", "60x80"]}),
    ("Bath Towel Set", (30, 110), {"pieces": ["4", "6", "8"], "color": ["white", "seafoam", "stone", "navy"], "fabric": ["cotton", "bamboo"]}),
    ("Bed Sheet Set", (40, 210), {"size": ["twin", "full", "queen", "king"], "thread count": ["300", "600"], "color": ["white", "sand", "sky"]}),
    ("Pillow", (20, 95), {"fill": ["memory foam", "down", "latex"], "firmness": ["soft", "medium", "firm"], "size": ["standard", "king"]}),
    ("Floor Lamp", (55, 260), {"height": ["58 inch", "64 inch", "72 inch"], "finish": ["brass", "matte black", "nickel"], "bulb type": ["LED", "incandescent"]}),
    ("Ceiling Fan", (90, 380), {"blade span": ["42 inch", "52 inch", "60 inch"], "finish": ["white", "bronze", "nickel"], "light kit": ["yes", "no"]}),
    ("Area Rug", (70, 640), {"size": ["4x6", "5x8", "8x10"], "pattern": ["solid", "geometric", "floral"], "material": ["wool", "jute", "polypropylene"]}),
    ("Curtains", (20, 130), {"length": ["63 inch", "84 inch", "96 inch"], "color": ["linen", "charcoal", "blush", "forest"], "opacity": ["sheer", "blackout"]}),
    ("Standing Desk", (240, 890), {"top size": ["48x24", "55x28", "60x30"], "frame color": ["black", "white", "grey"], "motor": ["single", "dual"]}),
    ("Monitor", (130, 1150), {"screen size": ["24 inch", "27 inch", "32 inch"], "resolution": ["1080p", "1440p", "4K"], "refresh rate": ["60Hz", "144Hz"]}),
    ("Webcam", (35, 210), {"resolution": ["720p", "1080p", "4K"], "field of view": ["65 degrees", "90 degrees"], "microphone": ["mono", "stereo"]}),
    ("Printer", (80, 460), {"type": ["inkjet", "laser"], "connectivity": ["USB", "Wi-Fi", "Ethernet"], "color": ["monochrome", "color"]}),
    ("Router", (60, 390), {"wifi standard": ["Wi-Fi 5", "Wi-Fi 6", "Wi-Fi 6E"], "bands": ["dual", "tri"], "ports": ["4", "8"]}),
    ("External Hard Drive", (50, 310), {"capacity": ["1TB", "2TB", "4TB", "8TB"], "interface": ["USB-A", "USB-C"], "color": ["black", "blue", "red"]}),
    ("Drone", (190, 1480), {"camera": ["2.7K", "4K", "6K"], "flight time": ["20 min", "31 min", "46 min"], "color": ["grey", "white"]}),
    ("Fitness Tracker", (40, 190), {"band color": ["black", "lilac", "mint", "coral"], "band size": ["small", "large"], "GPS": ["built-in", "connected"]}),
    ("Turntable", (110, 640), {"drive": ["belt", "direct"], "speed": ["33/45", "33/45/78"], "finish": ["walnut", "black", "white"]}),
    ("Soundbar", (120, 890), {"channels": ["2.0", "3.1", "5.1"], "subwoofer": ["wireless", "none"], "color": ["black", "white"]}),
    ("Electric Scooter", (320, 1290), {"range": ["12 miles", "25 miles", "40 miles"], "max speed": ["15 mph", "20 mph"], "color": ["black", "grey", "teal"]}),
    ("Kayak", (260, 1190), {"length": ["9 ft", "10 ft", "12 ft"], "seats": ["1", "2"], "color": ["lime", "red", "blue", "camo"]}),
    ("Tennis Racket", (60, 270), {"head size": ["98 sq in", "100 sq in", "105 sq in"], "weight": ["270g", "285g", "300g"], "grip size": ["2", "3", "4"]}),
    ("Golf Balls", (18, 60), {"pack size": ["12", "24"], "compression": ["low", "mid", "high"], "color": ["white", "yellow", "orange"]}),
    ("Basketball", (20, 85), {"size": ["5", "6", "7"], "material": ["rubber", "composite leather", "leather"], "court": ["indoor", "outdoor"]}),
    ("Jump Rope", (8, 45), {"length": ["8 ft", "9 ft", "10 ft"], "handle": ["foam", "aluminum", "wood"], "cable": ["steel", "PVC", "beaded"]}),
    ("Resistance Bands", (12, 65), {"levels": ["3", "5"], "material": ["latex", "fabric"], "handles": ["yes", "no"]}),
    ("Winter Boots", (80, 290), {"size": ["6", "7", "8", "9", "10", "11"], "insulation": ["200g", "400g"], "color": ["brown", "black", "taupe"]}),
    ("Sandals", (25, 120), {"size": ["6", "7", "8", "9", "10"], "color": ["tan", "black", "white"], "strap": ["slide", "ankle strap", "toe loop"]}),
    ("Denim Jeans", (35, 160), {"waist": ["28", "30", "32", "34", "36"], "length": ["30", "32", "34"], "fit": ["slim", "straight", "relaxed"]}),
    ("Wool Sweater", (45, 210), {"size": ["S", "M", "L", "XL"], "color": ["oatmeal", "burgundy", "heather grey", "forest"], "neckline": ["crew", "turtleneck", "v-neck"]}),
    ("Baseball Cap", (12, 45), {"color": ["black", "khaki", "navy", "red"], "closure": ["snapback", "strapback", "fitted"], "fabric": ["cotton twill", "mesh"]}),
    ("Scarf", (15, 95), {"material": ["cashmere", "merino", "acrylic"], "color": ["camel", "plaid", "black", "cobalt"], "length": ["60 inch", "72 inch"]}),
    ("Watercolor Paint Set", (12, 110), {"colors": ["12", "24", "48"], "pan type": ["half pan", "tube"], "brushes": ["included", "not included"]}),
    ("Board Game", (20, 85), {"players": ["2-4", "2-6", "3-8"], "theme": ["space", "trains", "farming", "mystery"], "edition": ["standard", "deluxe"]}),
    ("Building Blocks Set", (25, 360), {"pieces": ["250", "800", "1500", "3000"], "theme": ["castle", "city", "spaceship"], "age group": ["6+", "9+", "12+"]}),
    ("Plant Pot", (10, 90), {"diameter": ["6 inch", "10 inch", "14 inch"], "material": ["terracotta", "ceramic", "fiberglass"], "color": ["natural", "white", "charcoal"]}),
    ("Lawn Mower", (190, 790), {"power source": ["corded", "battery", "gas"], "cutting width": ["16 inch", "19 inch", "21 inch"], "bag": ["yes", "no"]}),
    ("Tool Kit", (30, 240), {"pieces": ["65", "130", "210"], "case": ["soft bag", "hard case", "rolling chest"], "color": ["red", "black"]}),
    ("Cordless Drill", (60, 280), {"voltage": ["12V", "18V", "20V"], "battery": ["1 battery", "2 batteries"], "chuck size": ["3/8 inch", "1/2 inch"]}),
    ("Bird Feeder", (15, 95), {"capacity": ["1 lb", "3 lb", "5 lb"], "material": ["cedar", "metal", "recycled plastic"], "mount": ["hanging", "pole", "window"]}),
]

FIRST_NAMES = [
    "Amara", "Bruno", "Camila", "Dario", "Elif", "Felix", "Greta", "Hana", "Idris", "Jonas",
    "Kenji", "Leila", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Stefan", "Tariq",
    "Uma", "Viktor", "Wren", "Ximena", "Yosef", "Zara", "Nikhil", "Ingrid", "Tomas", "Aisha",
]
LAST_NAMES = [
    "Abara", "Bergstrom", "Castillo", "Dubois", "Eriksen", "Fontaine", "Gallagher", "Haddad",
    "Iwasaki", "Jovanovic", "Kaur", "Lindqvist", "Mbeki", "Novak", "Okafor", "Petrov",
    "Quintero", "Ramirez", "Sato", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz",
    "Zielinski", "Moreau", "Costa", "Bianchi", "Nakamura",
]
STREETS = [
    "Juniper Court", "Aspen Way", "Magnolia Boulevard", "Birch Road", "Harbor View", "Orchard Street",
    "Meadow Lane", "Quarry Road", "Sycamore Avenue", "Foxglove Drive", "Riverside Terrace",
    "Canal Street", "Beacon Street", "Mill Road", "Summit Avenue", "Prairie Lane", "Cobblestone Way",
    "Heron Drive", "Granite Street", "Lantern Court",
]
# (city, state, first three digits of its zip codes)
CITIES = [
    ("Portland", "OR", "972"), ("Boise", "ID", "837"), ("Omaha", "NE", "681"), ("Milwaukee", "WI", "532"),
    ("Nashville", "TN", "372"), ("Albuquerque", "NM", "871"), ("Tucson", "AZ", "857"),
    ("Sacramento", "CA", "958"), ("Kansas City", "MO", "641"), ("Raleigh", "NC", "276"),
    ("Richmond", "VA", "232"), ("Pittsburgh", "PA", "152"), ("Minneapolis", "MN", "554"),
    ("Salt Lake City", "UT", "841"), ("Louisville", "KY", "402"), ("Baltimore", "MD", "212"),
    ("Madison", "WI", "537"), ("Spokane", "WA", "992"), ("Tulsa", "OK", "741"), ("Buffalo", "NY", "142"),
]
CARD_BRANDS = ["visa", "mastercard", "amex", "discover"]
CANCEL_REASONS = ["no longer needed", "ordered by mistake"]


class Ids:
    """Random ids of a fixed number of digits, never repeated within the data."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def digits(self, n: int) -> str:
        while True:
            s = str(self.rng.randint(10 ** (n - 1), 10 ** n - 1))
            if s not in self.used:
                self.used.add(s)
                return s


def make_products(rng: random.Random, ids: Ids) -> dict:
    products = {}
    for name, (low, high), options in CATALOGUE:
        product_id = ids.digits(10)
        combos = list(itertools.product(*options.values()))
        n = min(len(combos), rng.randint(5, 20))
        base = rng.uniform(low, high)
        variants = {}
        for combo in rng.sample(combos, n):
            item_id = ids.digits(10)
            variants[item_id] = {
                "item_id": item_id,
                "options": dict(zip(options, combo)),
                "available": rng.random() < 0.72,
                "price": round(base * rng.uniform(0.9, 1.1), 2),
            }
        if not any(v["available"] for v in variants.values()):
            next(iter(variants.values()))["available"] = True
        products[product_id] = {"name": name, "product_id": product_id, "variants": variants}
    return products


def make_address(rng: random.Random) -> dict:
    city, state, zip3 = rng.choice(CITIES)
    r = rng.random()
    address2 = "" if r < 0.3 else f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}" if r < 0.65 else f"Suite {rng.randint(100, 999)}"
    return {
        "address1": f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
        "address2": address2,
        "city": city,
        "country": "USA",
        "state": state,
        "zip": f"{zip3}{rng.randint(0, 99):02d}",
    }


def make_payment_methods(rng: random.Random, ids: Ids) -> dict:
    n = rng.choices([1, 2, 3, 4], weights=[66, 27, 5, 2])[0]
    methods = {}
    for _ in range(n):
        source = rng.choice(["credit_card", "gift_card", "paypal"])
        if source == "paypal" and any(m["source"] == "paypal" for m in methods.values()):
            source = "credit_card"
        pm_id = f"{source}_{ids.digits(7)}"
        if source == "credit_card":
            methods[pm_id] = {"source": source, "id": pm_id, "brand": rng.choice(CARD_BRANDS),
                              "last_four": f"{rng.randint(0, 9999):04d}"}
        elif source == "gift_card":
            methods[pm_id] = {"source": source, "id": pm_id, "balance": float(rng.randint(0, 200))}
        else:
            methods[pm_id] = {"source": source, "id": pm_id}
    return methods


def make_users(rng: random.Random, ids: Ids) -> dict:
    users = {}
    seen_keys: set[tuple[str, str, str]] = set()
    seen_emails: set[str] = set()
    for _ in range(N_USERS):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        user_id = f"{first.lower()}_{last.lower()}_{ids.digits(4)}"
        # A customer is found by email, or by name and zip: keep both unique.
        address = make_address(rng)
        while (first, last, address["zip"]) in seen_keys:
            address = make_address(rng)
        seen_keys.add((first, last, address["zip"]))
        email = f"{first.lower()}.{last.lower()}{rng.randint(1000, 9999)}@example.com"
        while email in seen_emails:
            email = f"{first.lower()}.{last.lower()}{rng.randint(1000, 9999)}@example.com"
        seen_emails.add(email)
        users[user_id] = {
            "user_id": user_id,
            "name": {"first_name": first, "last_name": last},
            "address": address,
            "email": email,
            "payment_methods": make_payment_methods(rng, ids),
            "orders": [],
        }
    return users


def make_orders(rng: random.Random, ids: Ids, products: dict, users: dict) -> dict:
    catalogue = list(products.values())
    customers = list(users.values())
    # Some customers order often, some never.
    weights = [rng.choice([0, 1, 1, 2, 2, 3, 4]) for _ in customers]
    orders = {}
    for _ in range(N_ORDERS):
        user = rng.choices(customers, weights=weights)[0]
        items = []
        for _ in range(rng.randint(1, 5)):
            product = rng.choice(catalogue)
            variant = rng.choice(list(product["variants"].values()))
            items.append({
                "name": product["name"],
                "product_id": product["product_id"],
                "item_id": variant["item_id"],
                "price": variant["price"],
                "options": dict(variant["options"]),
            })
        if rng.random() < 0.01:
            items.append(dict(items[0], options=dict(items[0]["options"])))
        status = rng.choices(["pending", "processed", "delivered", "cancelled"], weights=[42, 10, 38, 10])[0]
        method = rng.choice(list(user["payment_methods"]))
        amount = round(sum(i["price"] for i in items), 2)
        history = [{"transaction_type": "payment", "amount": amount, "payment_method_id": method}]
        if status == "cancelled":
            history.append({"transaction_type": "refund", "amount": amount, "payment_method_id": method})
        fulfillments = []
        if status != "pending":
            fulfillments.append({"tracking_id": [ids.digits(12)], "item_ids": [i["item_id"] for i in items]})
        order_id = f"#W{ids.digits(7)}"
        orders[order_id] = {
            "order_id": order_id,
            "user_id": user["user_id"],
            "address": dict(user["address"]) if rng.random() < 0.8 else make_address(rng),
            "items": items,
            "status": status,
            "fulfillments": fulfillments,
            "payment_history": history,
            "cancel_reason": rng.choice(CANCEL_REASONS) if status == "cancelled" else None,
            "exchange_items": None,
            "exchange_new_items": None,
            "exchange_payment_method_id": None,
            "exchange_price_difference": None,
            "return_items": None,
            "return_payment_method_id": None,
        }
        user["orders"].append(order_id)
    return orders


# --------------------------------------------------------------------------- main


def generate() -> dict:
    rng = random.Random(SEED)
    ids = Ids(rng)
    products = make_products(rng, ids)
    users = make_users(rng, ids)
    orders = make_orders(rng, ids, products, users)
    return {"products": products, "users": users, "orders": orders}


def main(argv=None) -> int:
    return datafile.run(OUT, generate, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
