"""The rectification ledger (整改台账) and its rules: the lifecycle state machine, writes that leave
an event each, reads with derived overdue/warning/map class, deadlines and the four-colour warning,
working days, look-backs (回头看), rebounds (反弹), complaints (信访), on-site assignment (现场交办)
and the township scorecard.

Home of each rule: overdue and warning colour — :mod:`gis.ledger.deadlines`; allowed actions —
:mod:`gis.ledger.lifecycle`; the filters every list uses — :mod:`gis.ledger.query`; township counts
and rank — :mod:`gis.ledger.scorecard`; working days — :mod:`gis.ledger.workdays`.
"""
