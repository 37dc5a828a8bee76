from accounts.roles import Role, role_of


def role(request):
    code = role_of(getattr(request, "user", None))
    return {"user_role": code, "user_role_label": Role(code).label if code else ""}
