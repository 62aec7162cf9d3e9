"""Street addresses in the shapes of other countries (ADDRESS).

Korean, US and UK shapes live in :mod:`places`; here the others a note may carry when a
patient, a relative or a firm lives abroad:

- Australia and New Zealand, a town and a four-digit postcode after the street, a state
  between them or not: "212 Oxford Street, Paddington NSW 2021", "44 Kowhai Crescent,
  Hamilton 3204";
- continental Europe, the number after the street and the postcode before the town:
  "ul. Marszałkowska 84/92, 00-514 Warszawa", "Hauptstraße 5, 10115 Berlin", "Calle Mayor
  12, 28013 Madrid", "12 rue de la Paix, 75002 Paris".
"""

from __future__ import annotations

import deid.text.recognizers.rx as rx
from deid.text.recognizers.base import Rule

__all__ = ["WORLD_ADDRESS_RULES"]

_UP = "A-ZÀ-ÖØ-ÞĀ-ž"
_LO = "a-zß-öø-ÿĀ-ž"
_WORD = rf"[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?"
_TOWN = rf"{_WORD}(?:[ \t]{_WORD})?"
_STREET_KIND = (
    r"St|Street|Rd|Road|Ave|Avenue|Dr|Drive|Ct|Court|Ln|Lane|Pl|Place|Tce|Terrace|Cres|Crescent|"
    r"Cl|Close|Pde|Parade|Gr|Grove|Sq|Square|Hwy|Highway|Way|Blvd|Boulevard|Esplanade|Quay|Mews"
)
# "212 Oxford Street, Paddington NSW 2021", "Unit 3, 44 Kowhai Crescent, Hamilton 3204".
AU_NZ_ADDRESS = rx.compile(
    r"(?:\b(?:Unit|Flat|Apt\.?|Level)[ \t][\dA-Z]{1,4},?[ \t])?"
    r"(?<![\d/.:-])\b\d{1,5}[A-Za-z]?(?:/\d{1,5})?[ \t]"
    rf"{_WORD}(?:[ \t]{_WORD}){{0,2}}[ \t](?:{_STREET_KIND})\.?,?[ \t]"
    rf"{_TOWN}(?:[ \t](?:NSW|VIC|QLD|SA|WA|TAS|NT|ACT))?[ \t]\d{{4}}(?![\d-])"
)
# Continental Europe: the street, its number, the postcode and the town.
_EU_STREET = (
    # "ul. Marszałkowska", "al. Jerozolimskie", "Calle Mayor", "Via Roma", "C/ Mayor"
    rf"(?:(?:ul\.|al\.|pl\.|os\.|Calle|C/|Avda\.?|Avenida|Via|Viale|Piazza|Rua|Praça|Carrer)"
    rf"[ \t]?{_WORD}(?:[ \t](?:de|del|da|do|dos|della|di)?[ \t]?{_WORD})?"
    # "Hauptstraße", "Lindenweg", "Keizersgracht"
    rf"|[{_UP}][{_LO}]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|gracht|laan|"
    rf"straat|vej|gatan|gata|veien|katu|utca))"
)
EU_ADDRESS = rx.compile(
    rf"\b{_EU_STREET}[ \t]\d{{1,4}}[A-Za-z]?(?:/\d{{1,4}})?"
    rf"(?:,[ \t](?:\d{{2}}-\d{{3}}|\d{{4,5}}|[A-Z]-\d{{4,5}})[ \t]{_TOWN})?"
)
# "12 rue de la Paix, 75002 Paris", "3 avenue Foch".
FR_ADDRESS = rx.compile(
    r"\b\d{1,4}(?:[ \t]?(?:bis|ter))?,?[ \t](?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|"
    rf"quai|impasse|route)[ \t](?:(?:de[ \t]la|de[ \t]l['’]|des|du|de|d['’])[ \t]?)?{_WORD}"
    rf"(?:[ \t]{_WORD})?(?:,[ \t]\d{{5}}[ \t]{_TOWN})?"
)

# What each shape always holds (a cheap search before the scan of every capital).
_EU_HINT = rx.compile(
    r"(?:ul\.|al\.|pl\.|os\.|Calle|C/|Avd|Avenida|Via|Viale|Piazza|Rua|Praça|Carrer|stra(?:ß|ss)e|"
    r"str\.|weg |gasse|platz|allee|ring |damm|gracht|laan|straat|vej |gatan|gata |veien|katu|utca)"
)
_FR_HINT = rx.compile(r"(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|quai|impasse|route) ")

WORLD_ADDRESS_RULES = [
    Rule("ADDRESS", AU_NZ_ADDRESS, 0.85, name="au_nz_address"),
    Rule("ADDRESS", EU_ADDRESS, 0.8, name="eu_address", prefilter=_EU_HINT),
    Rule("ADDRESS", FR_ADDRESS, 0.8, name="fr_address", prefilter=_FR_HINT),
]
