"""A sixth set of wordings for the synthetic incident day (``half=5``), written by someone who had not
read the grouping code nor the fifth set, after the fifth's one measurement."""

from __future__ import annotations

LOGIN_SIXTH = [
    "been trying to get into my account for 40 mins, just goes back to the start page",
    "app keeps kicking me out every time I open it. wtf",
    "forgot password link does nothing, tried 5 times",
    "is the website down or is it just me? can't get past the email and password bit",
    "ERR_AUTH_401 on the app, iphone 13, reinstalled twice already",
    "Tried to check my order and it won't let me in. Anything going on?",
    "wrong password it says. it is NOT wrong. changed it twice now",
    "firefox and edge both just show a white page after I hit sign in",
    "verification code text never comes so im stuck outside my acct",
    "cant acces my account rn hlp",
    "great, locked out right before the sale ends. thanks a lot",
    "session expired, session expired, session expired... every 10 seconds",
    "my whole family can't get into our accounts this morning, outage?",
    "keep getting 'we couldn't verify you' on android, cleared cache, nothing",
    "the continue with google button just loops back to the homepage lol",
    "why does it say my account doesn't exist?? i've had it 6 years",
]
PAYMENT_SIXTH = [
    "order won't go through, tried apple pay and my visa",
    "bank keeps refusing the transaction but they say nothing is blocked on their end",
    "stuck on processing for 10 mins, did it take my money or not??",
    "3D secure screen pops up then just errors. so can I buy this or not",
    "got to the very last step and it says transaction unsuccessful. every time",
    "money gone, no order. brilliant",
    "is checkout down? my basket's been sitting there an hour",
    "my mastercard works everywhere except your site today. hmm",
    "place order button greys out and nothing happens, chrome on mac",
    "error PAY-500 when i try to buy, tried twice, paypal too",
    "can't buy anything, keeps saying try another payment method. tried 3",
    "pending charge on my card x2 and still no order placed??",
]
BACKGROUND_SIXTH = [
    "ordered the {item} on the 3rd, still says dispatching soon",
    "refund for the {item} still hasn't hit my bank, it's been {n} days",
    "why does the {city} store close at 5 on a saturday??",
    "the {item} is half the size it looks in the pics lol",
    "guy at the till in {city} laughed at me when I asked about a return",
    "subscription renewed without a reminder email, want my money back",
    "gift card from my mum got rejected at the till, says zero balance",
    "changed the address on my account in {month} and parcels still go to the old flat",
    "courier left the {item} on the wall outside. anyone could've taken it",
    "your price match promise is a joke, denied for no reason",
    "bought 2 got 1, where's the other {item}",
    "new loyalty card still hasn't arrived in the post after {n} weeks",
    "assembly instructions for the {item} are in the wrong language",
    "charged a delivery fee on an order over the free delivery limit",
    "nobody answers the phone at customer care, rang {n} times",
    "{item} rusted in a month. rubbish",
]
