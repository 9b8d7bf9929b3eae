"""Field work: inspections logged on phones (validated once per client UUID, flagged when they look
off), their photos (checked by bytes, EXIF GPS, stored by content hash) and what lies around an
inspector (nearest open problems, protection zones, likely duplicates), in metres on the spheroid.
"""
