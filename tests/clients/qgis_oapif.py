"""Open Lookback's OGC API with QGIS's own OAPIF provider, signed in through a Basic auth config.

Run with Debian's Python (``/usr/bin/python3``, which has ``python3-qgis``), not the app's venv:

    QT_QPA_PLATFORM=offscreen python3 qgis_oapif.py BASE_URL USER PASSWORD LAYER...

It creates a throwaway QGIS profile, sets a master password, stores a ``Basic`` authentication
configuration through ``QgsAuthManager`` (what *Settings ▸ Options ▸ Authentication* does), adds
each layer with that configuration and prints, as JSON, whether it is valid, its feature count
and how many features iterating it yields.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsVectorLayer  # noqa: E402


def main(base: str, user: str, password: str, layers: list[str]) -> dict:
    faulthandler.enable()
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False, tempfile.mkdtemp(prefix="qgis-profile-"))
    app.initQgis()
    manager = QgsApplication.authManager()
    manager.setMasterPassword("throwaway-Master-1", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName("Lookback")
    config.setConfig("username", user)
    config.setConfig("password", password)
    manager.storeAuthenticationConfig(config)
    out: dict = {"authcfg": config.id(), "layers": {}}
    for name in layers:
        uri = (
            f"url='{base}/ogc' typename='{name}' authcfg={config.id()} pageSize='1000' "
            "pagingEnabled='true' restrictToRequestBBOX='0'"
        )
        layer = QgsVectorLayer(uri, name, "OAPIF")
        features = sum(1 for _ in layer.getFeatures()) if layer.isValid() else 0
        out["layers"][name] = {
            "valid": layer.isValid(),
            "count": int(layer.featureCount()) if layer.isValid() else -1,
            "iterated": features,
        }
        del layer
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])), flush=True)
    os._exit(0)  # QGIS 3.22 may crash tearing down its providers at interpreter exit
