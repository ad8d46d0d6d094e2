"""Prices for the cost review: a small dated snapshot shipped in the repo, and
the parser that refreshes it from AWS's public Price List bulk files.

A bulk (offer) file is one JSON document per service and region: ``products``
by SKU with ``productFamily`` and ``attributes``, and ``terms.OnDemand`` by SKU
with ``priceDimensions`` whose ``pricePerUnit.USD`` is the price (AWS Billing
user guide, "Reading the service price list file for an AWS service"). Only the
few prices this stack set uses are kept, selected by the rules below.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from generator.errors import UsageError

SNAPSHOT = Path(__file__).with_name("prices.json")
BULK_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/{region}/index.json"


class RegionPrices(msgspec.Struct, kw_only=True):
    ec2_instance_hour: dict[str, float] = {}
    ebs_gb_month: dict[str, float] = {}
    alb_hour: float | None = None
    nlb_hour: float | None = None
    nat_gateway_hour: float | None = None
    public_ipv4_hour: float | None = None
    rds_instance_hour: dict[str, float] = {}  # single-AZ; Multi-AZ is billed twice
    rds_storage_gb_month: dict[str, float] = {}
    fargate_vcpu_hour: dict[str, float] = {}  # by CPU architecture
    fargate_gb_hour: dict[str, float] = {}
    secret_month: float | None = None
    hosted_zone_month: float | None = None
    alarm_month: float | None = None


class PriceBook(msgspec.Struct, kw_only=True):
    source: str
    as_of: str
    currency: str = "USD"
    hours_per_month: int = 730
    regions: dict[str, RegionPrices] = {}

    def region(self, name: str) -> RegionPrices | None:
        return self.regions.get(name)

    def to_json(self) -> str:
        return json.dumps(msgspec.to_builtins(self), indent=2, sort_keys=True) + "\n"


def load(path: Path = SNAPSHOT) -> PriceBook:
    try:
        return msgspec.json.decode(path.read_bytes(), type=PriceBook)
    except (msgspec.DecodeError, OSError) as exc:  # ValidationError is a DecodeError
        raise UsageError(f"{path}: not a price snapshot ({exc}); name another file, or "
                         "remove it to start from the one shipped") from None


class PriceListError(UsageError):
    """An offer file is JSON but not of the Price List's shape."""


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a JSON object (absent: empty), else the one-line error naming it."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PriceListError(f"{where} is {type(value).__name__}, not an object")
    return value


def _usd(value: Any, where: str) -> float:
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise PriceListError(f"{where} is {value!r}, not a number") from None
    if not math.isfinite(price) or price < 0:
        raise PriceListError(f"{where} is {value!r}, not a price")
    return price


class Rule(msgspec.Struct, frozen=True):
    """Which products of which offer file give one snapshot price."""

    offer: str
    family: str
    key: str  # the RegionPrices field
    match: Mapping[str, str] = msgspec.field(default_factory=dict)  # attribute == value
    usage: str = ""  # the usagetype ends with this
    by: str | None = None  # attribute naming the entry of a per-type table
    names: Mapping[str, str] = msgspec.field(default_factory=dict)  # attribute value -> entry
    entry: str | None = None  # fixed entry of a per-type table


RULES = (
    Rule("AmazonEC2", "Compute Instance", "ec2_instance_hour",
         {"operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
          "capacitystatus": "Used", "licenseModel": "No License required"}, by="instanceType"),
    Rule("AmazonEC2", "Storage", "ebs_gb_month", by="volumeApiName"),
    Rule("AmazonEC2", "NAT Gateway", "nat_gateway_hour", usage="NatGateway-Hours"),
    Rule("AmazonVPC", "VPC Public IPv4 Address", "public_ipv4_hour",
         usage="PublicIPv4:InUseAddress"),
    Rule("AWSELB", "Load Balancer-Application", "alb_hour", usage="LoadBalancerUsage"),
    Rule("AWSELB", "Load Balancer-Network", "nlb_hour", usage="LoadBalancerUsage"),
    Rule("AmazonRDS", "Database Instance", "rds_instance_hour",
         {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"}, by="instanceType"),
    Rule("AmazonRDS", "Database Storage", "rds_storage_gb_month",
         {"databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"}, by="volumeType",
         names={"General Purpose": "gp2", "General Purpose-GP3": "gp3",
                "Provisioned IOPS": "io1"}),
    Rule("AmazonECS", "Compute", "fargate_vcpu_hour", usage="Fargate-vCPU-Hours:perCPU",
         entry="X86_64"),
    Rule("AmazonECS", "Compute", "fargate_gb_hour", usage="Fargate-GB-Hours", entry="X86_64"),
    Rule("AmazonECS", "Compute", "fargate_vcpu_hour", usage="Fargate-ARM-vCPU-Hours:perCPU",
         entry="ARM64"),
    Rule("AmazonECS", "Compute", "fargate_gb_hour", usage="Fargate-ARM-GB-Hours",
         entry="ARM64"),
    Rule("AWSSecretsManager", "Secret", "secret_month"),
    Rule("AmazonRoute53", "DNS Zone", "hosted_zone_month"),
    Rule("AmazonCloudWatch", "Alarm", "alarm_month", {"alarmType": "Standard"}),
)
OFFERS = tuple(sorted({r.offer for r in RULES}))


def _on_demand_price(offer: Mapping[str, Any], sku: str) -> float | None:
    """The first tier (beginRange 0) of the SKU's on-demand price, in USD."""
    terms = _obj(_obj(offer.get("terms"), "terms").get("OnDemand"), "terms.OnDemand")
    for code, term in _obj(terms.get(sku), f"terms.OnDemand.{sku}").items():
        where = f"terms.OnDemand.{sku}.{code}"
        for key, dim in _obj(_obj(term, where).get("priceDimensions"),
                             f"{where}.priceDimensions").items():
            dim = _obj(dim, f"{where}.priceDimensions.{key}")
            if str(dim.get("beginRange", "0")) in ("0", "0.0"):
                usd = _obj(dim.get("pricePerUnit"), f"{where}.priceDimensions.{key}.pricePerUnit")
                if usd.get("USD") is not None:
                    return _usd(usd["USD"], f"{where}.priceDimensions.{key}.pricePerUnit.USD")
    return None


def _matches(rule: Rule, product: Mapping[str, Any], region: str) -> bool:
    attrs = _obj(product.get("attributes"), "a product's attributes")
    if product.get("productFamily") != rule.family:
        return False
    if attrs.get("regionCode", region) != region:
        return False
    if rule.usage and not str(attrs.get("usagetype", "")).endswith(rule.usage):
        return False
    return all(attrs.get(k) == v for k, v in rule.match.items())


def parse_offer(offer: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The snapshot prices one offer file gives for ``region``."""
    code = offer.get("offerCode")
    found: dict[str, Any] = {}
    for sku, product in _obj(offer.get("products"), "products").items():
        product = _obj(product, f"products.{sku}")
        for rule in RULES:
            if rule.offer != code or not _matches(rule, product, region):
                continue
            price = _on_demand_price(offer, sku)
            if price is None:
                continue
            attrs = _obj(product.get("attributes"), f"products.{sku}.attributes")
            by = attrs.get(rule.by) if rule.by else None
            entry = rule.entry or (rule.names.get(str(by)) if rule.names else by)
            if rule.by and entry is None:
                continue
            if entry is None:
                found[rule.key] = price
            else:
                found.setdefault(rule.key, {})[str(entry)] = price
    return found


def refresh(book: PriceBook, region: str, offers: Iterable[Mapping[str, Any]]) -> PriceBook:
    """``book`` with ``region`` replaced by the prices in ``offers``; the date is the
    oldest publication date among them."""
    merged: dict[str, Any] = {}
    dates = []
    for offer in offers:
        try:
            parsed = parse_offer(_obj(offer, "the file"), region)
        except PriceListError as exc:
            code = offer.get("offerCode", "an offer file") if isinstance(offer, dict) else \
                "an offer file"
            raise PriceListError(f"{code}: {exc}; not a Price List offer file, download it "
                                 "again") from None
        for key, value in parsed.items():
            if isinstance(value, dict):
                merged.setdefault(key, {}).update(value)
            else:
                merged[key] = value
        if offer.get("publicationDate"):
            dates.append(str(offer["publicationDate"])[:10])
    if not merged:
        raise UsageError(f"the price list files hold no prices for region '{region}'; "
                         "check --region and that the files are the regional offer files")
    regions = dict(book.regions)
    regions[region] = msgspec.convert(merged, type=RegionPrices)
    return PriceBook(source="AWS Price List bulk files (" + ", ".join(OFFERS) + ")",
                     as_of=min(dates) if dates else book.as_of, currency=book.currency,
                     hours_per_month=book.hours_per_month, regions=regions)


def read_offer_files(folder: Path) -> list[dict[str, Any]]:
    """Offer files saved as ``<OfferCode>.json`` in ``folder`` (those that exist)."""
    out = []
    for code in OFFERS:
        path = folder / f"{code}.json"
        if not path.exists() and not path.is_symlink():
            continue
        if not path.is_file():
            raise UsageError(f"{path}: not a regular file (a directory, a pipe or a broken "
                             "link); put the downloaded offer file there, or remove it")
        out.append(_decode(path.read_bytes, str(path)))
    if not out:
        raise UsageError(f"{folder}: no price list files (expected e.g. {OFFERS[0]}.json); "
                         "download them from the Price List bulk API")
    return out


def _decode(read: Callable[[], bytes], where: str) -> dict[str, Any]:
    """One offer file's JSON object, or the one-line error naming the file."""
    try:
        value = json.loads(read())
    except RecursionError:
        raise UsageError(f"{where}: nested too deeply to be a price list file; download it "
                         "again") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{where}: not a price list file ({exc}); download it again") from None
    if not isinstance(value, dict):
        raise UsageError(f"{where}: not a price list file (a JSON {type(value).__name__}, not "
                         "an object); download it again")
    return value


def download_offers(region: str, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """The region's offer files from the Price List bulk API's documented URLs.

    Only on a person's request (`stackgen prices update`): the review itself never
    goes to the network. An offer with no file for the region is skipped."""
    import urllib.error
    import urllib.request

    out = []
    for code in OFFERS:
        url = BULK_URL.format(offer=code, region=region)
        say(f"downloading {url}")
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                out.append(_decode(response.read, url))
        except (urllib.error.URLError, OSError, UsageError) as exc:
            say(f"  skipped {code}: {exc}")
    if not out:
        raise UsageError(f"no price list file could be downloaded for {region}; download "
                         "them by hand and pass the folder with --from")
    return out
