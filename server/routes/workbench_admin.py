"""The workbench's admin and import pages: 用户 users, 导入 Excel import, 通知 notices."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["workbench"], include_in_schema=False)
