from __future__ import annotations

from generator.forecast.account import Account
from generator.forecast.model import AccountCheck, Finding, Subject


class RdsOrderable(AccountCheck):
    """The engine version and instance class can be ordered together (with the storage
    type and Multi-AZ asked for); otherwise CreateDBInstance is refused."""

    id = "F403"
    title = "The DB engine version and class are orderable"
    source = ("https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/"
              "API_DescribeOrderableDBInstanceOptions.html")

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        rds = subject.cfg.rds
        what = f"{rds.engine} {rds.engine_version} on {rds.instance_class}"
        # The EngineVersion filter matches exact versions ("16.13"), while a major version
        # ("16", the default) lets CreateDBInstance pick the default minor: ask for the class
        # and keep that major's versions (API_DescribeOrderableDBInstanceOptions.html).
        exact = "." in rds.engine_version
        options = account.pages("rds", "describe_orderable_db_instance_options",
                                "OrderableDBInstanceOptions", Engine=rds.engine,
                                DBInstanceClass=rds.instance_class,
                                **({"EngineVersion": rds.engine_version} if exact else {}))
        if not exact:
            options = [o for o in options
                       if str(o.get("EngineVersion", "")).split(".")[0] == rds.engine_version]
        if not options:
            any_option = account.call("rds", "describe_orderable_db_instance_options",
                                      Engine=rds.engine, MaxRecords=20)
            if not any_option["OrderableDBInstanceOptions"]:
                # AWS always lists every engine it sells; an endpoint that lists none for
                # this engine cannot tell us anything.
                return [self.finding(
                    "info", "rds", "DbInstance",
                    f"the endpoint lists no orderable options for engine {rds.engine}; {what} "
                    "is not checked", "check on AWS")]
            return [self.finding(
                "error", "rds", "DbInstance",
                f"{what} is not orderable in {subject.cfg.region}; CreateDBInstance is refused",
                "pick a current rds.engine_version offered for rds.instance_class "
                "(aws rds describe-orderable-db-instance-options)")]
        storage = [o for o in options if o.get("StorageType") == rds.storage_type]
        if not storage:
            offered = sorted({str(o.get("StorageType")) for o in options})
            return [self.finding(
                "error", "rds", "DbInstance",
                f"{what} is not offered with storage {rds.storage_type} (offered: "
                f"{', '.join(offered)})", "set rds.storage_type to one of those")]
        if rds.multi_az and not any(o.get("MultiAZCapable") for o in storage):
            return [self.finding(
                "error", "rds", "DbInstance", f"{what} cannot be Multi-AZ here",
                "set rds.multi_az: false or another instance class")]
        return []
