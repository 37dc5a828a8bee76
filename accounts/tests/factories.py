import factory
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import GROUP_NAMES


class UserFactory(factory.django.DjangoModelFactory):
    """A staff member; ``role=`` puts them in that role's group. No usable password
    unless ``password=`` is given (hashing with Argon2 is deliberately slow)."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@grace-mindcare.invalid")
    # A single-site clinic's staff: every location. A test of location scope passes False.
    chain_wide = True

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        if extracted:
            self.set_password(extracted)
        else:
            self.set_unusable_password()
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=GROUP_NAMES[extracted]))
