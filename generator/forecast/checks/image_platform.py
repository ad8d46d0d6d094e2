from __future__ import annotations

import json
import re

from generator.config import Task, Workload
from generator.forecast import images_registry as registry
from generator.forecast.account import Account, ApiError, not_found
from generator.forecast.model import AccountCheck, Finding, Subject

_ECR = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)"
                  r"(?::([^@]+))?(?:@(.+))?$")
# ECS's cpuArchitecture -> the OCI platform architecture it pulls.
OCI_ARCH = {"X86_64": "amd64", "ARM64": "arm64"}
MEDIA_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]


def registry_of(image: str) -> str:
    first = image.split("/", 1)[0]
    return first if "/" in image and ("." in first or ":" in first) else "docker.io"


class ImagePlatform(AccountCheck):
    """The container image exists with a variant for the task's CPU architecture, or the
    pull fails (CannotPullContainerError: no matching manifest). Asked through the ECR
    API; another registry is not contacted, and the finding says so."""

    id = "F501"
    title = "The image exists for the task's architecture"
    source = "https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html"

    def ask(self, subject: Subject, account: Account) -> list[Finding]:
        ecs = subject.cfg.ecs
        images = {ecs.container.image: "TaskDefinition"}
        # every workload's own image
        workloads: dict[str, Task | Workload] = {**ecs.tasks, **ecs.services, **ecs.jobs}
        for name, task in sorted(workloads.items()):
            if task.image:
                images.setdefault(task.image, "".join(p.capitalize() for p in name.split("-"))
                                  + "TaskDefinition")
        arch = OCI_ARCH[ecs.cpu_architecture]
        found = []
        for image, logical in images.items():
            m = _ECR.match(image)
            if (not m or m.group(2) != subject.cfg.region) and subject.options.get("registries"):
                problem = self._registry(image, arch, logical)
                if problem:
                    found.append(problem)
                continue
            if not m or m.group(2) != subject.cfg.region:
                found.append(self.finding(
                    "warning", "ecs", logical,
                    f"image {image}: registry {registry_of(image)} not contacted, so whether it "
                    f"exists for {ecs.cpu_architecture} ({arch}) is not checked",
                    "run with --registries to ask it, push the image to ECR in the env's "
                    "region, or check its platforms by hand (docker manifest inspect)"))
                continue
            problem = self._ecr(account, image, m.groups(), arch, logical)
            if problem:
                found.append(problem)
        return found

    def _registry(self, image: str, arch: str, logical: str) -> Finding | None:
        try:
            published = registry.platforms(image)
        except registry.ImageNotFound:
            return self.finding("error", "ecs", logical,
                                f"image {image} is not in its registry; tasks fail with "
                                "CannotPullContainerError", "push it, or fix the image name")
        except registry.RegistryError as exc:
            return self.finding(
                "warning", "ecs", logical,
                f"image {image}: registry {registry_of(image)} could not be reached ({exc}); "
                f"whether it exists for {arch} is not checked",
                "run where the registry answers, or check by hand (docker manifest inspect)")
        return self._judge(image, published, arch, logical)

    def _judge(self, image: str, published: list[str] | None, arch: str,
               logical: str) -> Finding | None:
        if published is None:
            return self.finding(
                "info", "ecs", logical,
                f"image {image} is a single-platform manifest; its architecture is in its config "
                f"blob, which the forecast does not download, so {arch} is not confirmed",
                "push a multi-platform image (docker buildx --platform) to make it checkable")
        if arch in published:
            return None
        return self.finding(
            "error", "ecs", logical,
            f"image {image} has platforms {', '.join(published)}, none {arch}; tasks fail with "
            "CannotPullContainerError (no matching manifest)",
            f"build and push the image for linux/{arch}, or change ecs.cpu_architecture")

    def _ecr(self, account: Account, image: str, parts: tuple[str | None, ...], arch: str,
             logical: str) -> Finding | None:
        registry, _, repo, tag, digest = parts
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
        try:
            answer = account.call("ecr", "batch_get_image", registryId=registry,
                                  repositoryName=repo, imageIds=[image_id],
                                  acceptedMediaTypes=MEDIA_TYPES)
        except ApiError as exc:
            if not not_found(exc):
                raise
            answer = {"images": [], "failures": [{"failureCode": exc.code}]}
        if not answer.get("images"):
            codes = ", ".join(f.get("failureCode", "?") for f in answer.get("failures", []))
            return self.finding("error", "ecs", logical,
                                f"image {image} is not in ECR ({codes or 'not found'}); tasks "
                                "fail with CannotPullContainerError",
                                "push the image, or fix ecs.container.image")
        manifest = json.loads(answer["images"][0].get("imageManifest") or "{}")
        published = None
        if "manifests" in manifest:
            published = sorted({str((m.get("platform") or {}).get("architecture"))
                                for m in manifest["manifests"]})
        return self._judge(image, published, arch, logical)
