"""The English words of kin and company that stand before or after a person's name.

One alternation for the rules that read a name by a relation next to it ("wife April",
"Beatriz (pt's sister)", 'Partner: "Sofi"'); each rule adds the neighbours it needs.
"""

from __future__ import annotations

__all__ = ["RELATION_WORDS"]

# (a regex alternation, to be used inside a group; case as the rule needs)
RELATION_WORDS = (
    r"wife|husband|son|daughter|mother|father|sister|brother|niece|nephew|grandson|"
    r"granddaughter|grandmother|grandfather|aunt|uncle|cousin|friend|partner|fianc[ée]e?|"
    r"boyfriend|girlfriend|roommate|neighbou?r|caregiver|guardian|mom|mum|dad"
)
