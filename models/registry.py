"""The model registry, in object storage next to the lake.

``registry/versions/vN/`` holds one immutable model version: ``weights.pt`` (torch state dict),
``model.json`` (family, configuration, fitted preprocessing, feature list, calibration, training
window and metrics, code version), ``profile.json`` (the profile of its training rows: the
numeric features and the model's score, ``models.drift``, against which the report measures
the drift of each day's candidates) and a manifest written last. ``registry/champion.json`` names
the champion; without it the champion is ``v0``, the transparent rule (it has no stored profile:
its training data is the marts' window as of each run date, ``models.lifecycle.v0_profile``). Every promotion, refusal
and rollback is appended to ``registry/decisions/`` with its reason.
"""

from __future__ import annotations

import json
from typing import Any

from couponflow.platform import manifest
from couponflow.platform.lake import REGISTRY
from couponflow.platform.storage import ObjectStore
from models.training import RedemptionModel

V0 = "v0"
PREFIX = REGISTRY  # the lake layout owns the prefix (couponflow.platform.lake)
WEIGHTS, SPEC, PROFILE = "weights.pt", "model.json", "profile.json"


class RegistryError(ValueError):
    """An unknown version, or an attempt to change a published one."""


def _number(version: str) -> int:
    if not (version.startswith("v") and version[1:].isdigit()):
        raise RegistryError(f"{version!r} is not a model version: versions look like v0, v1, v2 ...")
    return int(version[1:])


class Registry:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def versions(self) -> list[str]:
        """Published versions (trained models), oldest first; v0 is implicit."""
        found = {
            key.split("/")[2] for key in self.store.list(f"{PREFIX}/versions/") if key.endswith("/" + manifest.MANIFEST)
        }
        return sorted(found, key=_number)

    def register(self, model: RedemptionModel, card: dict[str, Any], profile: dict[str, Any] | None = None) -> str:
        """Publish ``model`` as the next version (with its training data's ``profile``, a
        ``models.drift.Profile.to_dict()``); published versions are never overwritten."""
        existing = self.versions()

        def objects_of(version: str) -> dict[str, bytes]:
            spec = {**model.spec(), "card": card, "version": version}
            objects = {WEIGHTS: model.weights_bytes(), SPEC: manifest.to_json_bytes(spec)}
            if profile is not None:
                objects[PROFILE] = manifest.to_json_bytes(profile)
            return objects

        if existing:  # a re-run of a train killed after publishing this very version: it is the one
            last = existing[-1]
            ds = manifest.read(self.store, f"{PREFIX}/versions/{last}")
            mine = {name: manifest.sha256(data) for name, data in objects_of(last).items()}
            if ds is not None and {o["name"]: o["sha256"] for o in ds.objects} == mine:
                return last
        version = f"v{_number(existing[-1]) + 1 if existing else 1}"
        prefix = f"{PREFIX}/versions/{version}"
        if manifest.read(self.store, prefix) is not None:
            raise RegistryError(f"{prefix} is already published: a version is immutable")
        # objects without a manifest are a killed train's leftover (manifest-last), not a version
        objects = objects_of(version)
        manifest.publish(
            self.store,
            prefix,
            objects,
            {"kind": "model", "version": version, "family": model.config.family},
        )
        return version

    def card(self, version: str) -> dict[str, Any]:
        """What the registry knows about a version (its model.json without the weights)."""
        if version == V0:
            from models import champion_v0

            return {"version": V0, "kind": champion_v0.KIND, "description": champion_v0.DESCRIPTION}
        _number(version)
        ds = manifest.read(self.store, f"{PREFIX}/versions/{version}")
        if ds is None:
            raise RegistryError(
                f"model version {version} is not in the registry (known: v0, {', '.join(self.versions())})"
            )
        return json.loads(manifest.read_object(self.store, ds, SPEC))

    def profile(self, version: str) -> dict[str, Any] | None:
        """The stored profile of a trained version's training data; None for v0 (computed from the
        marts instead) and for a version registered before profiles were stored."""
        if version == V0:
            return None
        self.card(version)  # raises for an unknown version
        ds = manifest.read(self.store, f"{PREFIX}/versions/{version}")
        if ds is None or not any(o["name"] == PROFILE for o in ds.objects):
            return None
        return json.loads(manifest.read_object(self.store, ds, PROFILE))

    def load(self, version: str) -> RedemptionModel:
        if version == V0:
            raise RegistryError("v0 is the transparent rule, not a trained model")
        spec = self.card(version)
        ds = manifest.read(self.store, f"{PREFIX}/versions/{version}")
        if ds is None:
            raise RegistryError(f"model version {version} has no manifest: it was never published")
        return RedemptionModel.load(spec, manifest.read_object(self.store, ds, WEIGHTS))

    # -- the champion pointer and the decision log -------------------------------------------
    def champion(self) -> str:
        try:
            return json.loads(self.store.get(f"{PREFIX}/champion.json"))["version"]
        except KeyError:
            return V0

    def decisions(self) -> list[dict[str, Any]]:
        keys = sorted(k for k in self.store.list(f"{PREFIX}/decisions/") if k.endswith(".json"))
        return [json.loads(self.store.get(k)) for k in keys]

    def record(self, decision: dict[str, Any]) -> None:
        """Append a decision (promote, keep, rollback) with its reason; a promote/rollback moves the champion."""
        log = self.decisions()
        n = len(log) + 1
        entry = {"seq": n, "previous_champion": self.champion(), **decision}
        if log and {**log[-1], "seq": n} == entry:  # a re-run of a record killed before its pointer
            n = log[-1]["seq"]
        else:
            self.store.put(f"{PREFIX}/decisions/{n:06d}.json", manifest.to_json_bytes(entry))
        if decision["action"] in ("promote", "rollback"):
            self.store.put(
                f"{PREFIX}/champion.json",
                manifest.to_json_bytes(
                    {"version": decision["version"], "since_decision": n, "reason": decision["reason"]}
                ),
            )

    def rollback(self, version: str, reason: str = "manual rollback") -> None:
        if version != V0:
            self.card(version)  # raises for an unknown version
        self.record({"action": "rollback", "version": version, "reason": reason})
