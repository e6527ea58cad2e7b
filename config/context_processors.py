from django.conf import settings
from django.http import HttpRequest

from accounts.roles import ADMIN, COMPLIANCE_REVIEWER, INSIGHTS_ROLES, user_roles


def site(request: HttpRequest) -> dict[str, object]:
    """Values every page needs: banners and which navigation entries to show."""
    roles = user_roles(getattr(request, "user", None))
    return {
        "uses_emulator": settings.BEDROCK_EMULATOR,
        "dev_login_enabled": settings.DEV_LOGIN_ENABLED,
        "is_compliance_reviewer": COMPLIANCE_REVIEWER in roles,
        "is_admin": ADMIN in roles,
        "is_insights_viewer": bool(roles & set(INSIGHTS_ROLES)),
        "admin_url_path": settings.ADMIN_URL_PATH,
    }
